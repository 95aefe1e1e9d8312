import { spawn } from "node:child_process";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { Monitor, type MonitorHandler, type Severity } from "./monitor";
import { packageRoot } from "./packageRoot";
import { loadProject, namespaceConfig, type Project } from "./project";
import { ProviderHost } from "./providerHost";
import { typeErrors } from "./typecheck";
import { lockStack, readState, resourceFromState, statePath, StateWriter, type Checkpoint, type ResourceState } from "./state";
import { Deployment, STACK_TYPE, type Diagnostic, type Step } from "./steps";
import type { Props } from "./values";

// The operations (up, preview, refresh, destroy): the project and its state, the program run by
// the real language runtime against our monitor, the dynamic-provider host started alongside it,
// and the state written as the run goes (docs/engine.md, "How a run goes").

export type Operation = "up" | "preview" | "refresh" | "destroy";

export interface EngineOptions {
  /** The project directory (holds Pulumi.yaml). */
  dir: string;
  stack?: string;
  /** key=value config for this run only, on top of Pulumi.<stack>.yaml. */
  config?: Record<string, string>;
  parallel?: number;
  /** Where state lives (default DIR/.nslab, or NSLAB_STATE_DIR). */
  stateDir?: string;
  onStep?: (s: Step) => void;
  onDiagnostic?: (d: Diagnostic) => void;
  /** Type-check the program before running it (default true). */
  typecheck?: boolean;
  /** Aborting finishes the steps in flight, starts no new one, and saves (Ctrl-C). */
  signal?: AbortSignal;
  /** The program's own stdout/stderr. */
  onOutput?: (stream: "stdout" | "stderr", text: string) => void;
}

export interface ChangeSummary {
  same: number;
  create: number;
  update: number;
  replace: number;
  delete: number;
}

export interface Result {
  operation: Operation;
  stack: string;
  steps: Step[];
  changeSummary: ChangeSummary;
  /** Stack outputs (up and preview), in wire form. */
  outputs?: Props;
  diagnostics: Diagnostic[];
  failed: boolean;
  /** The state after the run (not for preview). */
  state?: Checkpoint;
  /**
   * Preview: the resources as the plan leaves them, in wire form (created and updated ones with
   * their new inputs, unknowns included), the ones it deletes still there (`steps` says which).
   */
  planned?: ResourceState[];
}

/** The directories a program resolves `nslab` and `@pulumi/pulumi` from, wherever it is. */
export function nodePath(): string {
  return [path.join(packageRoot, "node_modules"), path.dirname(packageRoot), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
}

/** The program's own @pulumi/pulumi: its runtime and its dynamic-provider host must match. */
function pulumiDir(project: Project, searchPath: string): string {
  const paths = [project.dir, ...searchPath.split(path.delimiter)];
  try {
    return path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths }));
  } catch {
    throw new Error(`${project.dir}: cannot find @pulumi/pulumi (install it in the project, or next to nslab)`);
  }
}

// The program and the provider host ignore SIGINT: a Ctrl-C reaches the whole foreground process
// group, and nslab itself decides what stops (o.signal).
const IGNORE_SIGINT = `--import=data:text/javascript,process.on("SIGINT",()=>{})`;

// The program's stack traces are mapped by Node's own source maps, which tsx turns on, not by
// the source-map-support that the runtime's entry point (cmd/run) installs. That one maps through
// the maps it finds on disk, but tsx compiles the program in memory: under it a program that
// throws points into tsx's output (index.ts:2:1214), not at its line (index.ts:8:9). It is also
// slow, and the SDK formats a stack for each of the four promises of every resource property
// (measured: a third of the program's time at N=200 of the bench's star; preview 10.4 -> 8.5 s).
// Installing it first, then handing Error.prepareStackTrace back, leaves the runtime's install
// nothing to do: it sets the formatter once per process.
const NODE_SOURCE_MAPS = `--import=data:text/javascript,${encodeURIComponent(
  [
    'import { createRequire } from "node:module";',
    "try {",
    '  const sourceMapSupport = createRequire(process.argv[1])("source-map-support");',
    "  const node = Error.prepareStackTrace;",
    "  sourceMapSupport.install({ handleUncaughtExceptions: false });",
    "  Error.prepareStackTrace = node;",
    "} catch {}",
  ].join("\n"),
)}`;

/**
 * A message without terminal escapes: the runtime colours the stack of an error the program
 * threw (util.inspect with colors), and diagnostics are text, also in --json and in logs.
 */
const plain = (message: string) => message.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

/** The user's resources: not the Stack, not a provider. */
export const USER_TYPE = (type: string) => type !== STACK_TYPE && !type.startsWith("pulumi:providers:");

function summarize(steps: Step[]): ChangeSummary {
  const summary: ChangeSummary = { same: 0, create: 0, update: 0, replace: 0, delete: 0 };
  for (const s of steps) if (USER_TYPE(s.type)) summary[s.op]++;
  return summary;
}

/** Where a project's state lives: `stateDir` (--state-dir), else $NSLAB_STATE_DIR, else DIR/.nslab. */
export function stateDirOf(project: Project, stateDir: string | undefined): string {
  return path.resolve(stateDir ?? process.env.NSLAB_STATE_DIR ?? path.join(project.dir, ".nslab"));
}

export async function run(operation: Operation, o: EngineOptions): Promise<Result> {
  const stack = o.stack ?? "dev";
  const project = loadProject(o.dir, stack, o.config);
  const stateDir = stateDirOf(project, o.stateDir);
  const file = statePath(stateDir, stack);
  const dryRun = operation === "preview";
  const unlock = lockStack(stateDir, stack);
  let monitor: Monitor | undefined;
  let host: Promise<ProviderHost> | undefined;
  let detach = () => {};
  try {
    const prior = readState(file);
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: nodePath(), PULUMI_NODEJS_PROJECT: project.name, PULUMI_NODEJS_STACK: stack };
    // Programs run through tsx's loader, not the runtime's ts-node (docs/engine.md, "Running the program").
    delete env.PULUMI_NODEJS_TYPESCRIPT;
    const sdk = pulumiDir(project, env.NODE_PATH!);

    const startHost = () =>
      (host ??= ProviderHost.start({ nodeArgs: [IGNORE_SIGINT], hostDir: path.join(sdk, "cmd/dynamic-provider"), projectDir: project.dir, engineAddress: monitor!.address, env, config: namespaceConfig(project, "pulumi-nodejs") }));
    const writer = new StateWriter(file);
    const save = (final = false) => {
      const { resources, pending } = deployment.snapshot();
      writer.write(resources, pending, final);
    };
    // Group commit: the changes of one turn of the event loop share one write, so parallel steps
    // do not each rewrite the whole file; an operation starts only once it is recorded.
    let saving: Promise<void> | undefined;
    const changed = () =>
      (saving ??= new Promise<void>((resolve) =>
        setImmediate(() => {
          saving = undefined;
          save();
          resolve();
        }),
      ));
    const deployment: Deployment = new Deployment({
      project,
      dryRun,
      parallel: o.parallel ?? 8,
      resources: (prior?.deployment.resources ?? []).map(resourceFromState),
      provider: startHost,
      events: { step: (s) => o.onStep?.(s), diagnostic: (d) => o.onDiagnostic?.(d), changed: () => (dryRun ? Promise.resolve() : changed()) },
    });
    const cancel = () => deployment.cancel();
    if (o.signal?.aborted) cancel();
    o.signal?.addEventListener("abort", cancel);
    detach = () => o.signal?.removeEventListener("abort", cancel);
    for (const p of prior?.deployment.pending_operations ?? []) {
      deployment.diagnostic({ severity: "warning", urn: p.resource.urn, message: `the previous run was interrupted while ${p.type} ${p.resource.urn}; check it by hand or run refresh` });
    }

    const inflight = new Set<Promise<unknown>>();
    const settle = async () => {
      while (inflight.size) await Promise.allSettled([...inflight]);
    };
    let deletes: Promise<void> | undefined;
    const deletePhase = () => (deletes ??= settle().then(() => deployment.deletePhase()));
    const handler: MonitorHandler = {
      register(r) {
        const p = deployment.register(r);
        inflight.add(p);
        void p.catch(() => undefined).finally(() => inflight.delete(p));
        return p;
      },
      registerOutputs: (urn, outputs) => deployment.registerOutputs(urn, outputs),
      log(severity: Severity, message: string, urn: string) {
        if (severity === "debug") return;
        if (severity === "error") deployment.failed = true;
        deployment.diagnostic({ severity, message: plain(message).trimEnd(), ...(urn ? { urn } : {}) });
      },
      shutdown: deletePhase,
      unsupported: (feature) => deployment.fail(`nslab does not support ${feature}`),
    };
    monitor = await Monitor.start(handler);

    const typeErrorReport = (operation === "up" || operation === "preview") && o.typecheck !== false ? await typeErrors(project, env.NODE_PATH!, stateDir) : undefined;
    if (typeErrorReport) {
      deployment.fail(`the program has type errors (--skip-typecheck runs it anyway):\n${typeErrorReport}`);
    } else if (operation === "up" || operation === "preview") {
      // Started now, alongside the program: its ~0.7 s start-up overlaps the program's.
      startHost().catch(() => undefined);
      const argv = [
        IGNORE_SIGINT,
        NODE_SOURCE_MAPS,
        "--import",
        pathToFileURL(require.resolve("tsx", { paths: [packageRoot] })).href,
        path.join(sdk, "cmd/run"),
        ...["--monitor", monitor.address, "--engine", monitor.address, "--organization", "organization"],
        ...["--project", project.name, "--stack", stack, "--root-directory", project.dir, "--pwd", project.dir],
        ...["--parallel", String(o.parallel ?? 8), ...(dryRun ? ["--dry-run"] : []), project.main],
      ];
      const programEnv = { ...env, PULUMI_CONFIG: JSON.stringify(project.config), PULUMI_CONFIG_SECRET_KEYS: "[]" };
      const { code, stderr } = await runProgram(argv, project.dir, programEnv, o.onOutput);
      await settle();
      if (code === 32) deployment.failed = true; // the program threw; the runtime already logged it
      else if (code !== 0) deployment.fail(`the program exited with code ${code}${stderr ? `:\n${stderr.trimEnd()}` : ""}`);
      await deletePhase();
    } else if (operation === "refresh") {
      await deployment.refresh();
    } else {
      await deployment.deletePhase(true);
    }

    const result: Result = { operation, stack, steps: deployment.steps, changeSummary: summarize(deployment.steps), diagnostics: deployment.diagnostics, failed: deployment.failed };
    if (operation === "up" || operation === "preview") result.outputs = deployment.outputs();
    if (dryRun) result.planned = deployment.snapshot().resources;
    if (!dryRun) {
      await saving;
      save(true);
      result.state = readState(file);
    }
    return result;
  } finally {
    detach();
    if (host) void host.then((h) => h.stop(), () => undefined);
    monitor?.stop();
    unlock();
  }
}

/** Runs the program to its end, passing its output on; resolves with its exit code and stderr. */
function runProgram(argv: string[], cwd: string, env: NodeJS.ProcessEnv, onOutput: EngineOptions["onOutput"]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => onOutput?.("stdout", d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
      onOutput?.("stderr", d.toString());
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr }));
  });
}
