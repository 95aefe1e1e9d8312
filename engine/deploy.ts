import { spawn } from "node:child_process";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { Monitor, type MonitorHandler, type Severity } from "./monitor";
import { packageRoot } from "./packageRoot";
import { stderrFilter } from "./programOutput";
import { loadProject, namespaceConfig, type Project } from "./project";
import { InProcessProviders } from "./dynamicProviders";
import { typeErrors } from "./typecheck";
import { lockStack, readState, resourceFromState, statePath, StateWriter, type Checkpoint, type ResourceState } from "./state";
import { DEFAULT_PARALLEL, Deployment } from "./deployment";
import type { Diagnostic, Step } from "./steps";
import { STACK_TYPE } from "./urn";
import type { Props } from "./values";

// The operations (up, preview, refresh, destroy): the project and its state, the program run by
// the real language runtime against our monitor, the dynamic providers called in this process,
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
  /** Read every resource back first (up, preview, destroy): --refresh; default: the project's `options: refresh: always`. */
  refresh?: boolean;
  /** What a refresh found (refresh, and the refresh before up, preview or destroy). */
  onFinding?: (s: Step) => void;
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
  /** What the refresh before up, preview or destroy found (--refresh), as the steps of a refresh. */
  refreshed?: Step[];
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

/** The program's own @pulumi/pulumi: its runtime, and the Config its dynamic providers' configure gets. */
function pulumiDir(project: Project, searchPath: string): string {
  const paths = [project.dir, ...searchPath.split(path.delimiter)];
  try {
    return path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths }));
  } catch {
    throw new Error(`${project.dir}: cannot find @pulumi/pulumi (install it in the project, or next to nslab)`);
  }
}

// The program ignores SIGINT: a Ctrl-C reaches the whole foreground process group, and nslab
// itself decides what stops (EngineOptions.signal). It ends when its stdin, a pipe from nslab,
// reaches its end: the kernel closes it when nslab goes, however it goes (SIGKILL included), so
// it does not outlive nslab. (Linux's PR_SET_PDEATHSIG would do the same but is out of
// Node's reach without native code; polling the parent's pid would leave it running until the
// next poll.) The pipe is unref'd: a program that ends by itself is not kept alive by it.
const CHILD_OF_NSLAB = `--import=data:text/javascript,${encodeURIComponent(
  'process.on("SIGINT",()=>{});process.stdin.on("end",()=>process.exit(129)).on("error",()=>process.exit(129)).resume().unref()',
)}`;

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

// The SDK records a stack trace with each of the four promises of every resource property
// (debuggablePromise), for the report of promises a program leaves pending, only ever read
// there; taking and source-mapping them was a quarter of the CPU of a preview of the bench's
// star of 200 (9.3 -> 7.0 s of user time). Those records are taken with no frames (the leak
// report shows none); every other stack, a thrown error's first, keeps Node's usual ten frames.
// argv[1] is the runtime's cmd/run.
const NO_DEBUG_STACKS = `--import=data:text/javascript,${encodeURIComponent(
  [
    'import { createRequire } from "node:module";',
    "try {",
    '  const debuggable = createRequire(process.argv[1])("../runtime/debuggable");',
    "  const record = debuggable.debuggablePromise;",
    "  debuggable.debuggablePromise = (p, ctx) => {",
    "    const limit = Error.stackTraceLimit;",
    "    Error.stackTraceLimit = 0;",
    "    try { return record(p, ctx); } finally { Error.stackTraceLimit = limit; }",
    "  };",
    "} catch {}",
  ].join("\n"),
)}`;

// The SDK sends each of its debug messages (three or more per resource: "Registering resource",
// "RegisterResource RPC prepared", "... finished") to the engine as a Log RPC, one after the other,
// and the program cannot end before the last is answered; nslab shows no debug messages (the
// handler's log drops them), so they are not sent: at N=200 of the bench's star they were three
// quarters of the program's RPCs (`up` 12.8 -> 9.5 s, `--skip-preview` 8.1 -> 6.4 s).
// argv[1] is the runtime's cmd/run.
const NO_DEBUG_LOGS = `--import=data:text/javascript,${encodeURIComponent(
  ['import { createRequire } from "node:module";', "try {", '  createRequire(process.argv[1])("../log").debug = () => Promise.resolve();', "} catch {}"].join("\n"),
)}`;

// The runtime and the SDK are loaded before tsx's hooks are in place (the program's own files
// still go through tsx): they are plain CommonJS, and tsx otherwise lexes each of their hundreds
// of files for ESM syntax (a preview of examples/two-namespaces: 1.67 -> 1.34 s of CPU). In
// cmd/run's order: instrumentation before anything that loads gRPC. argv[1] is the runtime's
// cmd/run; nothing in the SDK reads its settings while it loads.
const SDK_FIRST = `--import=data:text/javascript,${encodeURIComponent(
  [
    'import { createRequire } from "node:module";',
    "try {",
    "  const sdk = createRequire(process.argv[1]);",
    '  sdk("./run/instrumentation");',
    '  sdk("..");',
    "} catch {}",
  ].join("\n"),
)}`;

// What the runtime loads or does at start for features nslab's programs do not use, each put off
// to its first use: TypeScript (the closure serializer's parser: nslab's resources come
// serialized, sdk/internal/shim.ts), npm's arborist (computeCodePaths), the automation API (the
// SDK's index loads it, and it loads both), OpenTelemetry's tracer (cmd/run's --tracing, never
// given), and the V8 inspector's debugger, which cmd/run turns on before the program runs, for
// script names in the serializer's errors, and which then costs every script loaded after it. A
// module loads on the first access to it; a program that serializes a function of its own turns
// the debugger on then, listening before it does, so the scripts loaded before are named too.
// A preview of examples/two-namespaces, with the serialized `__provider`: 1.21 -> 0.81 s of CPU.
// Before the SDK loads; argv[1] is the runtime's cmd/run.
const LAZY_SDK_PARTS = `--import=data:text/javascript,${encodeURIComponent(
  [
    'import { createRequire } from "node:module";',
    "try {",
    "  const sdk = createRequire(process.argv[1]);",
    '  const Module = sdk("node:module");',
    // What cmd/run's tracing loads, used only when it was given a --tracing URL.
    '  const TRACING = ["resources", "sdk-trace-base", "exporter-zipkin", "instrumentation-grpc", "sdk-trace-node", "instrumentation"].map((p) => "@opentelemetry/" + p);',
    "  const lazy = (request, standIn) => {",
    "    const file = sdk.resolve(request);",
    "    let real;",
    "    const m = new Module(file);",
    "    m.filename = file;",
    "    m.loaded = true;",
    "    m.exports = standIn(() => (real ??= (delete sdk.cache[file], sdk(file))));",
    "    sdk.cache[file] = m;",
    "  };",
    "  const namespace = (load) => new Proxy({}, {",
    '    get: (_, k) => (k === "__esModule" ? true : load()[k]),',
    "    has: (_, k) => k in load(),",
    "    ownKeys: () => Reflect.ownKeys(load()),",
    "    getOwnPropertyDescriptor: (_, k) => {",
    "      const d = Reflect.getOwnPropertyDescriptor(load(), k);",
    "      return d && { ...d, configurable: true };",
    "    },",
    "  });",
    '  for (const m of ["../typescript-shim", "../automation", ...TRACING]) lazy(m, namespace);',
    '  lazy("../runtime/closure/codePaths", (load) => ({',
    "    __esModule: true,",
    "    computeCodePaths: (...args) => load().computeCodePaths(...args),",
    "    findWorkspaceRoot: (...args) => load().findWorkspaceRoot(...args),",
    "  }));",
    '  const hooks = sdk("../runtime/closure/v8Hooks");',
    "  const urls = new Map();",
    "  let session;",
    "  hooks.getSessionAsync = () => (session ??= (async () => {",
    '    const s = new (await import("node:inspector")).Session();',
    "    s.connect();",
    '    s.on("Debugger.scriptParsed", (e) => urls.set(e.params.scriptId, e.params.url));',
    '    await new Promise((resolve, reject) => s.post("Debugger.enable", (err) => (err ? reject(err) : resolve())));',
    "    return s;",
    "  })());",
    "  hooks.isInitializedAsync = async () => {};",
    "  hooks.getScriptUrl = (id) => urls.get(id);",
    "} catch {}",
  ].join("\n"),
)}`;

/**
 * A message without terminal escapes: the runtime colours the stack of an error the program
 * threw (util.inspect with colors), and diagnostics are text, also in --json and in logs.
 */
const plain = (message: string) => message.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

/**
 * A warning of the runtime that is not for nslab's users: it runs a lab without a package.json
 * on purpose (NODE_PATH resolves its modules), and the runtime says so on every run.
 */
const NOT_FOR_NSLAB = /^Could not find a package\.json or package\.yaml file for the program\./;

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

export async function run(operation: Operation, options: EngineOptions): Promise<Result> {
  const stack = options.stack ?? "dev";
  const project = loadProject(options.dir, stack, options.config);
  const stateDir = stateDirOf(project, options.stateDir);
  const file = statePath(stateDir, stack);
  const dryRun = operation === "preview";
  const unlock = lockStack(stateDir, stack);
  let monitor: Monitor | undefined;
  let detach = () => {};
  let onExit = () => {};
  try {
    const prior = readState(file, { project: project.name, stack });
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: nodePath(), PULUMI_NODEJS_PROJECT: project.name, PULUMI_NODEJS_STACK: stack };
    // Programs run through tsx's loader, not the runtime's ts-node (docs/engine.md, "Running the program").
    delete env.PULUMI_NODEJS_TYPESCRIPT;
    const sdk = pulumiDir(project, env.NODE_PATH!);

    const providers = new InProcessProviders({ projectDir: project.dir, searchPath: env.NODE_PATH!.split(path.delimiter), sdkDir: sdk, project: project.name, config: namespaceConfig(project, "pulumi-nodejs") });
    // What the run reports, held back while a preview's program runs beside the type check.
    let held: (() => void)[] | undefined;
    const shown = (report: () => void) => (held ? held.push(report) : report());
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
      parallel: options.parallel ?? DEFAULT_PARALLEL,
      resources: (prior?.deployment.resources ?? []).map(resourceFromState),
      providers,
      events: { step: (s) => shown(() => options.onStep?.(s)), finding: (s) => shown(() => options.onFinding?.(s)), diagnostic: (d) => shown(() => options.onDiagnostic?.(d)), changed: () => (dryRun ? Promise.resolve() : changed()) },
    });
    // Stopped at once (a second Ctrl-C exits the process): the state as it stands, operations
    // in flight recorded as pending, and the lock released.
    onExit = () => {
      if (!dryRun) save();
      unlock();
    };
    process.on("exit", onExit);
    const cancel = () => deployment.cancel();
    if (options.signal?.aborted) cancel();
    options.signal?.addEventListener("abort", cancel);
    detach = () => options.signal?.removeEventListener("abort", cancel);
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
        if (severity === "debug" || NOT_FOR_NSLAB.test(message)) return;
        deployment.diagnostic({ severity, message: plain(message).trimEnd(), ...(urn ? { urn } : {}) });
      },
      shutdown: deletePhase,
      unsupported: (feature) => deployment.fail(`nslab does not support ${feature}`),
    };
    monitor = await Monitor.start(handler);

    // Refresh first: up, preview and destroy then go on from what exists.
    const refresh = operation === "refresh" || (options.refresh ?? project.refresh);
    if (refresh) await deployment.refresh();

    const runsProgram = (operation === "up" || operation === "preview") && !deployment.failed;
    const typecheck = runsProgram && options.typecheck !== false;
    const typeErrorsFound = (report: string) => `the program has type errors (--skip-typecheck runs it anyway):\n${report}`;
    // A preview changes nothing, so its program runs beside the type check rather than after it
    // (docs/engine.md, "Running the program"); what it reports is held back until the check
    // passed, and type errors are then all the run shows, as when they stop it before the program.
    const beside = typecheck && dryRun;
    const typeErrorReport = typecheck && !beside ? await typeErrors(project, env.NODE_PATH!, stateDir) : undefined;
    if (typeErrorReport) {
      deployment.fail(typeErrorsFound(typeErrorReport));
    } else if (runsProgram) {
      await monitor.reachable();
      const argv = [
        CHILD_OF_NSLAB,
        NODE_SOURCE_MAPS,
        NO_DEBUG_STACKS,
        NO_DEBUG_LOGS,
        LAZY_SDK_PARTS,
        SDK_FIRST,
        "--import",
        pathToFileURL(require.resolve("tsx", { paths: [packageRoot] })).href,
        path.join(sdk, "cmd/run"),
        ...["--monitor", monitor.address, "--engine", monitor.address, "--organization", "organization"],
        ...["--project", project.name, "--stack", stack, "--root-directory", project.dir, "--pwd", project.dir],
        ...["--parallel", String(options.parallel ?? DEFAULT_PARALLEL), ...(dryRun ? ["--dry-run"] : []), project.main],
      ];
      const programEnv = { ...env, PULUMI_CONFIG: JSON.stringify(project.config), PULUMI_CONFIG_SECRET_KEYS: "[]" };
      const before = { diagnostics: deployment.diagnostics.length, planned: deployment.snapshot().resources };
      if (beside) held = [];
      const checked = beside ? typeErrors(project, env.NODE_PATH!, stateDir) : undefined;
      checked?.catch(() => undefined);
      const { code, stderr } = await runProgram(argv, project.dir, programEnv, (stream, text) => shown(() => options.onOutput?.(stream, text)));
      await settle();
      deployment.programExited(code, stderr);
      await deletePhase();
      const report = await checked;
      const reports = held ?? [];
      held = undefined;
      if (report) {
        const message = typeErrorsFound(report);
        options.onDiagnostic?.({ severity: "error", message });
        const diagnostics = [...deployment.diagnostics.slice(0, before.diagnostics), { severity: "error" as const, message }];
        return { operation, stack, steps: [], changeSummary: summarize([]), diagnostics, failed: true, ...(refresh ? { refreshed: deployment.findings } : {}), outputs: {}, planned: before.planned };
      }
      for (const r of reports) r();
    } else if (operation === "destroy") {
      await deployment.deletePhase(true);
    }

    const steps = operation === "refresh" ? deployment.findings : deployment.steps;
    const result: Result = { operation, stack, steps, changeSummary: summarize(steps), diagnostics: deployment.diagnostics, failed: deployment.failed };
    if (refresh && operation !== "refresh") result.refreshed = deployment.findings;
    if (operation === "up" || operation === "preview") result.outputs = deployment.outputs();
    if (dryRun) result.planned = deployment.snapshot().resources;
    if (!dryRun) {
      await saving;
      save(true);
      result.state = readState(file);
    }
    return result;
  } finally {
    process.off("exit", onExit);
    detach();
    monitor?.stop();
    unlock();
  }
}

/** Runs the program to its end, passing its output on; resolves with its exit code and stderr. */
function runProgram(argv: string[], cwd: string, env: NodeJS.ProcessEnv, onOutput: EngineOptions["onOutput"]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    // stdin: the pipe whose end tells the program that nslab is gone (CHILD_OF_NSLAB).
    const child = spawn(process.execPath, argv, { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    const filter = stderrFilter();
    child.stdout.on("data", (d: Buffer) => onOutput?.("stdout", d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      const text = filter.push(d.toString());
      stderr += text;
      if (text) onOutput?.("stderr", text);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      child.stdin.destroy();
      const rest = filter.flush();
      stderr += rest;
      if (rest) onOutput?.("stderr", rest);
      resolve({ code: code ?? (signal ? 128 : 1), stderr });
    });
  });
}
