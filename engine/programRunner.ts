import { createRequire } from "node:module";
import * as path from "node:path";

// The program's process (docs/engine.md, "Running the program"): runs the program once per run
// nslab asks for, `up`'s preview then its update, as the runtime's own entry point (cmd/run) runs
// it once per process. Node, tsx and the SDK are loaded once; each run gets the runtime's state
// afresh (as the automation API's language server does), the program's own modules evaluated
// again, and the process's globals, environment and handlers as they were before the run. A run
// ends as under cmd/run, when the event loop has nothing left to do; it is reported by a marker on
// stdout and on stderr, after everything the run printed. Started by engine/programProcess.ts.

/** What every run shares (argv[2], JSON). */
export interface RunnerSpec {
  /** The program's @pulumi/pulumi. */
  sdk: string;
  /** nslab's own library (its dist/): loaded like a package, never evaluated again. */
  library: string;
  marker: string;
  organization: string;
  project: string;
  stack: string;
  rootDirectory: string;
  pwd: string;
  parallel: number;
  main: string;
}

/** One run (the first in argv[3], the next ones a line each on stdin). */
export interface RunRequest {
  monitor: string;
  dryRun: boolean;
  /** The program's config (PULUMI_CONFIG). */
  config: string;
}

const spec = JSON.parse(process.argv[2]!) as RunnerSpec;
const sdk = createRequire(path.join(spec.sdk, "cmd/run/index.js"));
// cmd/run's run.js takes one constant from its index, which runs the runtime's main on load: the
// index is given in advance, with that constant only.
const indexFile = sdk.resolve("./index.js");
const Module = require("node:module") as { new (id: string): NodeJS.Module };
const index = new Module(indexFile);
index.filename = indexFile;
index.loaded = true;
index.exports = { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 };
require.cache[indexFile] = index;
const { run } = sdk("./run.js");
const state = sdk("../../runtime/state");
const settings = sdk("../../runtime/settings");
const log = sdk("../../log");
const debuggable = sdk("../../runtime/debuggable");
const manifest = sdk("../../runtime/manifest");
const { withRootContext } = sdk("./instrumentation");

/** An ES module program cannot be evaluated again: it gets a process per run. */
const reusable = (() => {
  if (/\.m[jt]s$/.test(spec.main)) return false;
  const program = path.resolve(spec.pwd, spec.main);
  const found = manifest.searchupPackageManifest(path.extname(program) ? path.dirname(program) : program);
  try {
    return !found || manifest.readPackageManifest(path.dirname(found)).data.type !== "module";
  } catch {
    return true;
  }
})();

/** A module loaded during a run that is the program's own: not a package's, not nslab's library. */
const programsOwn = (file: string) => !file.split(path.sep).includes("node_modules") && !file.startsWith(spec.library + path.sep);

/** The process as a run found it, put back when it ends. */
function snapshot(): () => void {
  const env = { ...process.env };
  const globals = new Map(Reflect.ownKeys(globalThis).map((k) => [k, Object.getOwnPropertyDescriptor(globalThis, k)!]));
  const listeners = new Map(process.eventNames().map((e) => [e, process.listeners(e as "exit")]));
  const modules = new Set(Object.keys(require.cache));
  return () => {
    for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
    Object.assign(process.env, env);
    for (const k of Reflect.ownKeys(globalThis)) {
      const before = globals.get(k);
      const now = Object.getOwnPropertyDescriptor(globalThis, k)!;
      if (!before) Reflect.deleteProperty(globalThis, k);
      else if (before.value !== now.value || before.get !== now.get || before.set !== now.set) Object.defineProperty(globalThis, k, before);
    }
    for (const e of process.eventNames()) {
      const kept = new Set(listeners.get(e) ?? []);
      for (const l of process.listeners(e as "exit")) if (!kept.has(l)) process.off(e as "exit", l);
    }
    // The program's modules go, also from the children of the modules that loaded them (run.js
    // loads the program's main): they would keep the run's objects alive, through its exports.
    const gone = new Set<NodeJS.Module>();
    for (const [file, m] of Object.entries(require.cache)) {
      if (m && !modules.has(file) && programsOwn(file)) {
        gone.add(m);
        delete require.cache[file];
      }
    }
    for (const m of Object.values(require.cache)) if (m?.children.some((c) => gone.has(c))) m.children = m.children.filter((c) => !gone.has(c));
    process.exitCode = undefined;
  };
}

/** Runs the program once; resolves with the exit code cmd/run's process would have had. */
function runOnce(request: RunRequest): Promise<number> {
  const restore = snapshot();
  Object.assign(process.env, {
    PULUMI_NODEJS_ORGANIZATION: spec.organization,
    PULUMI_NODEJS_PROJECT: spec.project,
    PULUMI_NODEJS_ROOT_DIRECTORY: spec.rootDirectory,
    PULUMI_NODEJS_STACK: spec.stack,
    PULUMI_NODEJS_PARALLEL: String(spec.parallel),
    PULUMI_NODEJS_MONITOR: request.monitor,
    PULUMI_NODEJS_ENGINE: request.monitor,
    PULUMI_CONFIG: request.config,
  });
  if (request.dryRun) process.env.PULUMI_NODEJS_DRY_RUN = "true";
  else delete process.env.PULUMI_NODEJS_DRY_RUN;
  // A new store, as a process of cmd/run has: the runtime's settings (read from the environment
  // above), its Stack, its error count and promise records are this run's. The runtime keeps it
  // in a global (an automation API run keeps it in async-local storage instead, which handlers
  // of the process's events do not see); its clients of the monitor and the engine are closed
  // at the end of the run.
  const store = new state.LocalStore();
  (globalThis as { globalStore?: unknown }).globalStore = store;
  return new Promise<number>((resolve) => {
    // cmd/run's index: errors not handled by the program fail the run, logged (32) or not (1).
    const uncaught = new Set<unknown>();
    const logged = new Set<unknown>();
    let programRunning = false;
    const onUncaught = (err: Error) => {
      uncaught.add(err);
      if (!programRunning && !logged.has(err)) {
        log.error(err.stack || err.message || "" + err);
        logged.add(err);
      }
    };
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUncaught);
    // The run ends when the event loop is empty, after every other beforeExit handler (as cmd/run's index does).
    let ending = false;
    process.on("beforeExit", () =>
      process.nextTick(() => {
        if (ending) return;
        ending = true;
        setImmediate(() => {});
        process.on("beforeExit", () => void end(Number(process.exitCode ?? 0)));
      }),
    );
    let ended = false;
    const end = async (code: number) => {
      if (ended) return;
      ended = true;
      if (uncaught.size === 0 && code === 0) {
        try {
          await withRootContext(() => settings.signalAndWaitForShutdown());
        } catch (err) {
          console.error(`Error while signaling shutdown: ${err}`);
        }
        // The runtime's report of promises the program left pending, made at exit under cmd/run.
        if (!log.hasErrors() && !store.terminated) {
          const [leaks, message] = debuggable.leakedPromises();
          if (leaks.size && !debuggable.debugPromiseLeaks) console.error(message);
          if (leaks.size) code = 1;
        }
      }
      if (code === 0 && uncaught.size > 0) code = [...uncaught].every((e) => logged.has(e)) ? 32 : 1;
      settings.disconnectSync();
      restore();
      resolve(code);
    };
    const argv = { _: [spec.main], pwd: spec.pwd };
    const started = withRootContext(() =>
      run(
        argv,
        () => (programRunning = true),
        (err: unknown) => logged.add(err),
        (err: unknown) => logged.has(err),
      ),
    ) as Promise<unknown>;
    void started.then(() => (programRunning = false));
  });
}

// The process is started with --expose-gc (engine/programProcess.ts): the run before is garbage
// by the time the next starts, but V8 would rather grow the heap than collect it (at N=200 of the
// bench's star the program's peak RSS was 608 MiB, 435 MiB with this collection, 392 MiB with a
// process per run).
const collect = (globalThis as { gc?: () => void }).gc;

/** Runs one request, then reports it: the marker with its code, and whether another run may follow here. */
async function serve(request: RunRequest): Promise<void> {
  // While the program runs, nothing of the runner's keeps the process alive (the run ends when its event loop is empty).
  process.stdin.unref();
  const code = await runOnce(request);
  // After everything the run printed (writes to pipes are synchronous on Linux), on both streams.
  const end = `${spec.marker}${code} ${reusable ? "warm" : "cold"}\n`;
  process.stdout.write(end);
  process.stderr.write(end);
  // Waits for the next run; nslab ends this process by closing stdin (CHILD_OF_NSLAB).
  process.stdin.ref();
}

let lines = "";
process.stdin.setEncoding("utf8").on("data", (chunk: string) => {
  lines += chunk;
  for (let nl = lines.indexOf("\n"); nl >= 0; nl = lines.indexOf("\n")) {
    const line = lines.slice(0, nl);
    lines = lines.slice(nl + 1);
    collect?.();
    void serve(JSON.parse(line) as RunRequest);
  }
});
void (async () => {
  // cmd/run's index: the V8 hooks a function's serialization needs, before any program runs (put off to its first use: LAZY_SDK_PARTS, engine/programProcess.ts).
  await sdk("../../runtime/closure/v8Hooks").isInitializedAsync();
  await serve(JSON.parse(process.argv[3]!) as RunRequest);
})();
