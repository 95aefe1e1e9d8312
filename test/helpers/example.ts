import "./sandboxed";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as assert from "uvu/assert";
import { shownName } from "../../engine/graph";
import { readState, statePath } from "../../engine/state";
import { connect, pings, serve, type Server } from "./netfilterLab";
import { kernelSnapshot } from "./snapshot";

// Running the built `nslab` CLI (dist/engine/cli.js) end to end on the kernel of the test's
// sandbox: on a fixture or on a temp copy of an example (so a test can append a change to its
// index.ts without touching the repo; the engine sets NODE_PATH, so the copy still resolves
// `nslab`), real traffic between the lab's namespaces, and the fixed tail of an example's test.

export const ROOT = path.resolve(__dirname, "../..");
export const CLI = path.join(ROOT, "dist/engine/cli.js");

export { pings };

/** The `--json` object of one run (docs/design.md, "The CLI's output contract"). */
export interface Json {
  steps: { op: string; urn: string; type: string; diffs: string[] }[];
  changeSummary: Record<string, number>;
  outputs?: Record<string, unknown>;
  diagnostics: { severity: string; message: string }[];
  failed: boolean;
}

export type Config = Record<string, string | number>;
export type Operation = "up" | "preview" | "refresh" | "destroy";

// --skip-typecheck: the type check is pinned by test/engine/failures.test.ts; here it would only add time.
/** The argv (node first) of `nslab <op> DIR --json` with its own state directory and per-run config. */
export function argv(op: Operation, dir: string, stateDir: string, config: Config = {}): string[] {
  const configArgs = Object.entries(config).flatMap(([k, v]) => ["--config", `${k}=${v}`]);
  return [CLI, op, dir, "--state-dir", stateDir, "--json", "--skip-typecheck", ...configArgs];
}

/** Runs `nslab <op> --json`, which must succeed; its JSON object. */
export function nslab(op: Operation, dir: string, stateDir: string, config: Config = {}): Json {
  const r = spawnSync(process.execPath, argv(op, dir, stateDir, config), { cwd: ROOT, encoding: "utf8" });
  assert.is(r.status, 0, `nslab ${op} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Json;
}

/** The steps that change something, as "op name" (sorted: steps of one wave interleave). */
export function changes(j: Json): string[] {
  return j.steps
    .filter((s) => s.op !== "same" && !s.type.startsWith("pulumi:"))
    .map((s) => `${s.op} ${s.urn.split("::").pop()}`)
    .sort();
}

/** A changeSummary, in the order of the contract. */
export const summary = (same: number, create: number, update: number, replace: number, del: number) => ({ same, create, update, replace, delete: del });

/**
 * How an Example's operations run: nslab's engine by default; test/pulumi/ runs the same example
 * tests through the Pulumi CLI (useRunner before importing them).
 */
export interface Runner {
  run(ex: Example, op: Operation, config: Config): Json;
  /** After the change is up: drift made by hand, found by refresh and repaired by up. */
  drift?(ex: Example): void;
}

let runner: Runner = { run: (ex, op, config) => nslab(op, ex.dir, ex.stateDir, config) };

export function useRunner(r: Runner): void {
  runner = r;
}

/** A temp copy of examples/<name> (state beside it, both removed when the process exits). */
export class Example {
  readonly dir: string;
  readonly stateDir: string;
  /** The kernel when the copy was made: destroy must bring it back. */
  readonly pristine = kernelSnapshot();

  constructor(readonly name: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `nslab-example-${name}-`));
    process.on("exit", () => fs.rmSync(this.dir, { recursive: true, force: true }));
    this.stateDir = path.join(this.dir, ".nslab");
    fs.cpSync(path.join(ROOT, "examples", name), this.dir, { recursive: true, filter: (src) => path.basename(src) !== ".nslab" });
  }

  /** Runs `nslab <op>` (or the runner's) on the copy; it must succeed. */
  run(op: Operation, config: Config = {}): Json {
    return runner.run(this, op, config);
  }

  /** Appends TypeScript to the copy's index.ts (it sees the program's own top-level names). */
  append(code: string): void {
    fs.appendFileSync(path.join(this.dir, "index.ts"), `\n${code}\n`);
  }
}

/** What answered a TCP connection: the listener's name and the peer address it saw. */
export interface Answer {
  server: string;
  peer: string;
}

/**
 * Listens for TCP on 0.0.0.0:port in `netns` (undefined: the host's); every connection is
 * answered with `name` (default: the namespace) and the peer address, so a test sees which
 * namespace answered and from where. Stop it before destroy: a process in a namespace keeps the
 * namespace, and the links in it, alive after `ip netns del`.
 */
export function listen(netns: string | undefined, port: number, name = netns ?? "host"): Promise<Server> {
  return serve(netns, "0.0.0.0", port, name);
}

/** Runs `fn` while a `listen` server on `port` runs in each of `namespaces`; stops them after. */
export async function whileListening<T>(namespaces: (string | undefined)[], port: number, fn: () => T | Promise<T>): Promise<T> {
  const servers = await Promise.all(namespaces.map((ns) => listen(ns, port)));
  try {
    return await fn();
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** One TCP connection with netcat from `netns` to address:port; what answered it, or undefined when none did. */
export function tcp(netns: string | undefined, address: string, port: number, seconds = 2): Answer | undefined {
  const answer = connect(netns, address, port, seconds);
  if (answer === undefined) return undefined;
  const [server, peer] = answer.split(" ") as [string, string];
  return { server, peer };
}

/** The meaningful change of an example's test. */
export interface Change {
  /** TypeScript appended to the copy's index.ts: add a host, move an address, add a rule. */
  code: string;
  /** Exactly the steps its preview, then its up, must list, as `changes()` gives them ("create web-c-ip"). */
  steps: string[];
  /** Real-traffic checks once the change is up; gets the stack outputs. */
  check?: (outputs: Record<string, unknown>) => void | Promise<void>;
}

/**
 * The fixed tail of an example's test, run after its first `up` and traffic checks: a preview
 * that changes nothing, the change previewed with exactly its steps, an up that does exactly
 * those, the change's check, the graph of the lab as the kernel has it, a refresh that finds no drift, a destroy that deletes every
 * resource, and the kernel as it was when the copy was made.
 */
export async function expectLifecycle(ex: Example, change: Change): Promise<void> {
  assert.equal(changes(ex.run("preview")), [], "a preview right after up changes nothing");
  ex.append(change.code);
  assert.equal(changes(ex.run("preview")), change.steps, "the change's preview");
  const up = ex.run("up");
  assert.equal(changes(up), change.steps, "the change's up");
  await change.check?.(up.outputs ?? {});
  if (runner.drift) {
    runner.drift(ex);
    await change.check?.(up.outputs ?? {});
  }
  expectGraph(ex);
  const refresh = ex.run("refresh");
  assert.equal(changes(refresh), [], "refresh after up finds no drift");
  // Refresh reads custom resources only; destroy also deletes the components.
  const total = Object.values(up.changeSummary).reduce((a, b) => a + b, 0) - up.changeSummary.delete!;
  assert.equal(ex.run("destroy").changeSummary, summary(0, 0, 0, 0, total), "destroy deletes every resource");
  assert.fixture(kernelSnapshot(), ex.pristine, "the kernel after destroy is as it was before up");
}

/** `nslab graph …` (Mermaid unless --format says otherwise), which must succeed. */
export function graph(ex: Example, ...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, "graph", ex.dir, "--state-dir", ex.stateDir, ...args], { cwd: ROOT, encoding: "utf8" });
  assert.is(r.status, 0, `nslab graph exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface Drawn {
  /** Namespace ("" for the host) → the label lines of each interface drawn in it. */
  namespaces: Map<string, string[][]>;
  edgeLabels: string[];
}

/** The namespaces, interfaces and link labels of a Mermaid graph. */
function parse(mermaid: string): Drawn {
  const drawn: Drawn = { namespaces: new Map(), edgeLabels: [] };
  let current: string[][] | undefined;
  for (const line of mermaid.split("\n")) {
    const subgraph = line.match(/^ {2}subgraph \w+\["(?:[+~-]+ )?(?:netns (\S+)|host)(?: \(forwarding\))?"\]$/);
    const node = line.match(/^ {4}\w+[[({]+"(.*)"[\])}]+$/);
    const edge = line.match(/^ {2}\w+ -[->]-\|"(.*)"\| \w+$/);
    if (subgraph) drawn.namespaces.set(subgraph[1] ?? "", (current = []));
    else if (node) current!.push(node[1]!.split("<br/>"));
    else if (edge) drawn.edgeLabels.push(edge[1]!);
  }
  return drawn;
}

interface Link {
  ifname: string;
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info: { local: string; prefixlen: number; scope: string }[];
}

/** What the kernel has: namespace ("" for the host) → its veths and bridges with their global addresses. */
function kernel(): Map<string, Link[]> {
  const namespaces = ["", ...fs.readdirSync("/run/netns")];
  return new Map(
    namespaces.map((ns) => {
      const links = JSON.parse(execFileSync("ip", [...(ns ? ["-n", ns] : []), "-j", "-d", "addr", "show"], { encoding: "utf8" })) as Link[];
      return [ns, links.filter((l) => ["veth", "bridge"].includes(l.linkinfo?.info_kind ?? ""))];
    }),
  );
}

/**
 * From the stack's state: kernel name → the name the graph shows (the resource's, for a name nslab
 * derived), and the kernel name of each veth end → its pair's resource name (the link's label).
 */
function names(ex: Example): { shown: Map<string, string>; pair: Map<string, string> } {
  const state = readState(statePath(ex.stateDir, "dev"))!;
  const shown = new Map<string, string>();
  const pair = new Map<string, string>();
  for (const r of state.deployment.resources) {
    const [kind, name, kernel] = [r.type.split(":").pop(), r.urn.split("::").pop()!, r.outputs.name as string];
    if (kind === "Netns" || kind === "Bridge" || kind === "VethPair") shown.set(kernel, shownName(kernel, name, r.inputs.owner));
    if (kind === "VethPair") for (const end of [kernel, r.outputs.peerName as string]) pair.set(end, name);
  }
  return { shown, pair };
}

/** The graph of the stack (`nslab graph`) draws every namespace, veth, bridge and global address the kernel has. */
function expectGraph(ex: Example): void {
  const drawn = parse(graph(ex));
  const { shown, pair } = names(ex);
  for (const [ns, links] of kernel()) {
    if (ns === "" && links.length === 0) continue;
    const nodes = drawn.namespaces.get(shown.get(ns) ?? ns);
    assert.ok(nodes, `namespace ${ns || "host"} is drawn`);
    for (const l of links) {
      const addresses = l.addr_info.filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`);
      if (l.master && addresses.length === 0) {
        // A bridge port is drawn as its bridge, its pair's resource name on the link (before any shaping).
        assert.ok(drawn.edgeLabels.some((e) => e.split(" · ")[0] === (pair.get(l.ifname) ?? l.ifname)), `port ${l.ifname} of ${l.master} is on a link: ${drawn.edgeLabels.join(", ")}`);
        continue;
      }
      const name = shown.get(l.ifname) ?? l.ifname;
      const title = l.linkinfo?.info_kind === "bridge" ? `${name} (bridge)` : name;
      const node = nodes!.find((lines) => lines[0] === title);
      assert.ok(node, `${title} is drawn in ${ns || "host"}: ${JSON.stringify(nodes)}`);
      for (const a of addresses) assert.ok(node!.includes(a), `${l.ifname} in ${ns || "host"} shows ${a}: ${JSON.stringify(node)}`);
    }
  }
}
