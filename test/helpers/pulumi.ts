import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import * as assert from "uvu/assert";
import { SANDBOX_ENV, sandboxArgv } from "../../engine/sandbox";
import { cacheProblem, PULUMI_VERSION, pulumiCliDir } from "../../scripts/pulumi-cli/build";
import type { Config, Json, Operation } from "./example";

// The real Pulumi CLI (v3.248.0, `npm run -s pulumi:cli`) on a lab directory: a file backend of
// its own, offline, its `--json` output read into the shape of nslab's (the `Json` of
// test/helpers/example.ts), so the example tests' own checks run unchanged on either engine.

/** Set by .ci/run: without the CLI, the test/pulumi ring fails instead of being skipped. */
export const REQUIRE_PULUMI_ENV = "NSLAB_REQUIRE_PULUMI";

/** The directory holding a `pulumi` v3.248.0 with its Node language host: the build's cache, else PATH. */
export function pulumiBin(): string | undefined {
  if (!cacheProblem()) return pulumiCliDir;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && fs.existsSync(path.join(dir, "pulumi-language-nodejs")) && !cacheProblem(dir)) return dir;
  }
  return undefined;
}

/** Why the test/pulumi ring cannot run here, with the command that enables it; undefined when it can. */
export function pulumiMissing(): string | undefined {
  if (pulumiBin()) return undefined;
  return `no Pulumi CLI ${PULUMI_VERSION} (with pulumi-language-nodejs) in ${pulumiCliDir} or on PATH; build it with: npm run -s pulumi:cli (needs Go and the Go module proxy)`;
}

/**
 * A lab directory driven by `pulumi`: its own file backend and PULUMI_HOME, stack `dev`. Without
 * `typecheck`, the runtime's ts-node only transpiles (as nslab's tests pass --skip-typecheck).
 */
export class PulumiStack {
  readonly backend = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-pulumi-"));
  readonly env: NodeJS.ProcessEnv;
  /** What the last `run` printed. */
  lastOutput = "";

  constructor(readonly dir: string, readonly stack = "dev", typecheck = false) {
    process.on("exit", () => fs.rmSync(this.backend, { recursive: true, force: true }));
    const bin = pulumiBin();
    assert.ok(bin, pulumiMissing());
    this.env = {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      PULUMI_HOME: path.join(this.backend, "home"),
      PULUMI_BACKEND_URL: `file://${this.backend}`,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_CONFIG_PASSPHRASE: "nslab-test",
      ...(typecheck ? {} : { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }),
    };
    this.cli("stack", "init", stack);
  }

  /** The argv of `pulumi ARGS` (PATH in `env` finds it). */
  argv(...args: string[]): string[] {
    return ["pulumi", ...args, "--non-interactive"];
  }

  /** Runs `pulumi ARGS` in the lab directory; it must succeed. Its stdout. */
  cli(...args: string[]): string {
    const [file, ...argv] = this.argv(...args);
    const r = spawnSync(file!, argv, { cwd: this.dir, env: this.env, encoding: "utf8", maxBuffer: 256 << 20 });
    assert.is(r.status, 0, `pulumi ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /**
   * `pulumi <op> --json` (a preview --show-sames, as nslab lists them; the others --yes
   * --skip-preview: the tests compare a preview of their own), read as nslab's --json object.
   */
  run(op: Operation, config: Config = {}): Json {
    for (const [k, v] of Object.entries(config)) this.cli("config", "set", k, String(v));
    const out = (this.lastOutput = this.cli(op, ...(op === "preview" ? ["--show-sames"] : ["--yes", "--skip-preview"]), "--json"));
    return op === "preview" ? fromPreview(out) : fromEvents(out);
  }

  /** `pulumi stack export --show-secrets` (nslab reads no encrypted secret) into nslab's state file for the stack in `stateDir`. */
  exportTo(stateDir: string): void {
    fs.mkdirSync(stateDir, { recursive: true });
    this.cli("stack", "export", "--show-secrets", "--file", path.join(stateDir, `${this.stack}.json`));
  }

  /** `pulumi stack import` of nslab's state file for the stack in `stateDir`. */
  importFrom(stateDir: string): void {
    this.cli("stack", "import", "--file", path.join(stateDir, `${this.stack}.json`));
  }
}

const CHANGE_KEYS = ["same", "create", "update", "replace", "delete"] as const;
const summaryOf = (counts: Record<string, number>) => Object.fromEntries(CHANGE_KEYS.map((k) => [k, counts[k] ?? 0]));

interface PreviewStep {
  op: string;
  urn: string;
  oldState?: { type: string; inputs?: Record<string, unknown> };
  newState?: { type: string; inputs?: Record<string, unknown> };
  diffReasons?: string[];
  replaceReasons?: string[];
}

/**
 * The changed property names of a step, as nslab's `diffs` gives them: the provider's (Pulumi's
 * `diffReasons`, which the dynamic-provider host never sends, and `replaceReasons`) and the input
 * keys whose values differ (what Pulumi's display shows as `[diff: ~key]`), the serialized
 * provider's apart.
 */
function diffsOf(s: PreviewStep): string[] {
  const [olds, news] = [s.oldState?.inputs ?? {}, s.newState?.inputs ?? {}];
  const changed = s.op === "update" || s.op === "replace" ? Object.keys({ ...olds, ...news }).filter((k) => k !== "__provider" && !isDeepStrictEqual(olds[k], news[k])) : [];
  return [...new Set([...(s.diffReasons ?? []), ...(s.replaceReasons ?? []), ...changed])];
}

/** `pulumi preview --json`: one object (apitype.PreviewDigest). */
function fromPreview(out: string): Json {
  const digest = JSON.parse(out) as { steps: PreviewStep[]; changeSummary: Record<string, number>; diagnostics?: { severity: string; message: string }[] };
  return {
    // The refresh steps of `options: refresh: always`, which nslab's --json does not list.
    steps: digest.steps.filter((s) => s.op !== "refresh").map((s) => ({ op: s.op, urn: s.urn, type: (s.newState ?? s.oldState)!.type, diffs: diffsOf(s) })),
    changeSummary: summaryOf(digest.changeSummary),
    diagnostics: digest.diagnostics ?? [],
    failed: false,
  };
}

interface StepMetadata {
  op: string;
  urn: string;
  type: string;
  diffs?: string[];
  new?: { outputs?: Record<string, unknown> };
}

/**
 * `pulumi up|refresh|destroy --json`: the preview's object, then one engine event a line
 * (apitype.EngineEvent); a resource's step is its resOutputsEvent (but the refresh steps of
 * `options: refresh: always`, as in a preview), the stack's outputs are the Stack resource's.
 */
function fromEvents(out: string): Json {
  const events = out.split("\n").filter((l) => l.startsWith('{"sequence"')).map((l) => JSON.parse(l) as Record<string, { metadata?: StepMetadata } & Record<string, unknown>>);
  const steps = events.flatMap((e) => (e.resOutputsEvent?.metadata && e.resOutputsEvent.metadata.op !== "refresh" ? [e.resOutputsEvent.metadata] : []));
  const summary = events.find((e) => e.summaryEvent)?.summaryEvent as { resourceChanges: Record<string, number>; result: string };
  const stack = steps.find((s) => s.type === "pulumi:pulumi:Stack");
  return {
    steps: steps.map((s) => ({ op: s.op, urn: s.urn, type: s.type, diffs: s.diffs ?? [] })),
    changeSummary: summaryOf(summary.resourceChanges),
    outputs: stack?.new?.outputs ?? {},
    diagnostics: events.flatMap((e) => (e.diagnosticEvent ? [e.diagnosticEvent as unknown as { severity: string; message: string }] : [])),
    failed: summary.result !== "succeeded",
  };
}

/** A resource's record in a state file (ours or `pulumi stack export`'s). */
export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  outputs?: Record<string, unknown>;
}

export function stateResources(file: string): StateResource[] {
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { deployment: { resources: StateResource[] } }).deployment.resources;
}

/** Drift by hand: deletes the last Address of the state from the kernel; its name. */
export function deleteAnAddress(file: string): string {
  const address = stateResources(file).filter((r) => r.type.endsWith(":Address")).pop();
  assert.ok(address, `${file} has an Address to delete by hand`);
  const o = address!.outputs as { netns?: string; device: string; address: string };
  execFileSync("ip", [...(o.netns ? ["-n", o.netns] : []), "addr", "del", o.address, "dev", o.device]);
  return address!.urn.split("::").pop()!;
}

/** `nslab up DIR` (with `config`) in a fresh sandbox of its own (as the test files get theirs): its outputs and the kernel snapshot there. */
export function upInOwnSandbox(dir: string, config: Config = {}): { outputs: Record<string, unknown>; snapshot: string } {
  const argv = sandboxArgv([process.execPath, "--import", "tsx", path.join(__dirname, "../pulumi/nslabUp.ts"), dir, JSON.stringify(config)]);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: { ...process.env, [SANDBOX_ENV]: "1" }, maxBuffer: 64 << 20 });
  assert.is(r.status, 0, `nslab up in a sandbox of its own exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { outputs: Record<string, unknown>; snapshot: string };
}

const DEFAULT_PROVIDER = "pulumi:providers:pulumi-nodejs::default";

/** What a preview plans: (URN, op) and the changed property names, in one order; the default provider's step apart. */
export const plan = (j: Json) =>
  j.steps
    .filter((s) => !s.urn.endsWith(DEFAULT_PROVIDER))
    .map((s) => `${s.op} ${s.urn} [${[...s.diffs].sort().join(",")}]`)
    .sort();

/**
 * nslab preview and pulumi preview of the same program on the same state plan the same steps.
 * Three deviations of nslab's --json, pinned: it lists the default provider's step (Pulumi's engine
 * keeps it internal: no event, not in the digest), its changeSummary leaves out the Stack
 * (Pulumi's counts it), and with `options: refresh: always` it does not list the refresh steps
 * Pulumi's preview lists before the plan (op "refresh", left out by PulumiStack.run; Pulumi's
 * summary then counts them too, so it is not compared).
 */
export function expectSamePlan(ours: Json, theirs: Json, refreshFirst: boolean): void {
  assert.equal(plan(ours), plan(theirs), "nslab preview plans what pulumi preview plans");
  assert.ok(ours.steps.some((s) => s.urn.endsWith(DEFAULT_PROVIDER)), "nslab lists the default provider's step");
  assert.not.ok(theirs.steps.some((s) => s.urn.endsWith(DEFAULT_PROVIDER)), "pulumi does not list the default provider's step");
  if (refreshFirst) return;
  const stackOp = theirs.steps.find((s) => s.type === "pulumi:pulumi:Stack")!.op;
  const withStack = Object.fromEntries(Object.entries(ours.changeSummary).map(([op, n]) => [op, n + (op === stackOp ? 1 : 0)]));
  assert.equal(withStack, theirs.changeSummary, "pulumi's changeSummary is nslab's and the Stack");
}

/**
 * A kernel snapshot without what differs between two builds of the same lab: interface indexes
 * and the order of lines (creation order follows parallelism), IPv6 link-local addresses and
 * routes (random MACs) and duplicate address detection in progress.
 */
export const comparable = (snapshot: string) =>
  snapshot
    .split(/^(?=# )/m)
    .map((section) =>
      section
        .split("\n")
        .filter((l) => !l.includes("fe80:"))
        .map((l) => l.replace(/^\d+: /, "").replace(/@if\d+/, "").replace(/ tentative/, ""))
        .sort()
        .join("\n"),
    )
    .join("\n");
