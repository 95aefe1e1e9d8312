import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { packageRoot } from "./packageRoot";
import { stderrFilter } from "./programOutput";
import type { RunnerSpec, RunRequest } from "./programRunner";
import type { Project } from "./project";

// The program's process (docs/engine.md, "Running the program"): Node with the imports below,
// tsx, and engine/programRunner.ts, which runs the program once per run asked for. `up` asks it
// for the preview's run and then the update's; a program it cannot run again (an ES module) gets a
// process per run.

const dataImport = (lines: string[]) => `--import=data:text/javascript,${encodeURIComponent(lines.join("\n"))}`;

// The program ignores SIGINT: a Ctrl-C reaches the whole foreground process group, and nslab
// itself decides what stops (EngineOptions.signal). It ends when its stdin, a pipe from nslab,
// reaches its end: the kernel closes it when nslab goes, however it goes (SIGKILL included), so
// it does not outlive nslab. (Linux's PR_SET_PDEATHSIG would do the same but is out of
// Node's reach without native code; polling the parent's pid would leave it running until the
// next poll.) The pipe is unref'd: a run that ends by itself is not kept alive by it (the
// runner refs it while it waits for the next run, which comes down the same pipe).
const CHILD_OF_NSLAB = dataImport([
  'process.on("SIGINT",()=>{});process.stdin.on("end",()=>process.exit(129)).on("error",()=>process.exit(129)).resume().unref()',
]);

// The imports below take the runtime from `cmdRun`, the program's @pulumi/pulumi/cmd/run.
const fromRuntime = (cmdRun: string, lines: string[]) =>
  dataImport(['import { createRequire } from "node:module";', "try {", `  const sdk = createRequire(${JSON.stringify(cmdRun)});`, ...lines, "} catch {}"]);

// The program's stack traces are mapped by Node's own source maps, which tsx turns on, not by
// the source-map-support that the runtime's entry point (cmd/run) installs. That one maps through
// the maps it finds on disk, but tsx compiles the program in memory: under it a program that
// throws points into tsx's output (index.ts:2:1214), not at its line (index.ts:8:9). It is also
// slow, and the SDK formats a stack for each of the four promises of every resource property
// (measured: a third of the program's time at N=200 of the bench's star; preview 10.4 -> 8.5 s).
// Installing it first, then handing Error.prepareStackTrace back, leaves the runtime's install
// nothing to do: it sets the formatter once per process.
const NODE_SOURCE_MAPS = (cmdRun: string) =>
  fromRuntime(cmdRun, [
    '  const sourceMapSupport = sdk("source-map-support");',
    "  const node = Error.prepareStackTrace;",
    "  sourceMapSupport.install({ handleUncaughtExceptions: false });",
    "  Error.prepareStackTrace = node;",
  ]);

// The SDK records a stack trace with each of the four promises of every resource property
// (debuggablePromise), for the report of promises a program leaves pending, only ever read
// there; taking and source-mapping them was a quarter of the CPU of a preview of the bench's
// star of 200 (9.3 -> 7.0 s of user time). Those records are taken with no frames (the leak
// report shows none); every other stack, a thrown error's first, keeps Node's usual ten frames.
const NO_DEBUG_STACKS = (cmdRun: string) =>
  fromRuntime(cmdRun, [
    '  const debuggable = sdk("../runtime/debuggable");',
    "  const record = debuggable.debuggablePromise;",
    "  debuggable.debuggablePromise = (p, ctx) => {",
    "    const limit = Error.stackTraceLimit;",
    "    Error.stackTraceLimit = 0;",
    "    try { return record(p, ctx); } finally { Error.stackTraceLimit = limit; }",
    "  };",
  ]);

// The SDK sends each of its debug messages (three or more per resource: "Registering resource",
// "RegisterResource RPC prepared", "... finished") to the engine as a Log RPC, one after the other,
// and the program cannot end before the last is answered; nslab shows no debug messages (the
// handler's log drops them), so they are not sent: at N=200 of the bench's star they were three
// quarters of the program's RPCs (`up` 12.8 -> 9.5 s, `--skip-preview` 8.1 -> 6.4 s).
const NO_DEBUG_LOGS = (cmdRun: string) => fromRuntime(cmdRun, ['  sdk("../log").debug = () => Promise.resolve();']);

// What the runtime loads or does at start for features nslab's programs do not use, each put off
// to its first use: TypeScript (the closure serializer's parser: nslab's resources come
// serialized, sdk/internal/shim.ts), npm's arborist (computeCodePaths), the automation API (the
// SDK's index loads it, and it loads both), OpenTelemetry's tracer (cmd/run's --tracing, never
// given), and the V8 inspector's debugger, which cmd/run turns on before the program runs, for
// script names in the serializer's errors, and which then costs every script loaded after it. A
// module loads on the first access to it; a program that serializes a function of its own turns
// the debugger on then, listening before it does, so the scripts loaded before are named too.
// A preview of examples/two-namespaces, with the serialized `__provider`: 1.21 -> 0.81 s of CPU.
// Before the SDK loads.
const LAZY_SDK_PARTS = (cmdRun: string) =>
  fromRuntime(cmdRun, [
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
  ]);

// The runtime and the SDK are loaded before tsx's hooks are in place (the program's own files
// still go through tsx): they are plain CommonJS, and tsx otherwise lexes each of their hundreds
// of files for ESM syntax (a preview of examples/two-namespaces: 1.67 -> 1.34 s of CPU). In
// cmd/run's order: instrumentation before anything that loads gRPC; nothing in the SDK reads its
// settings while it loads.
const SDK_FIRST = (cmdRun: string) => fromRuntime(cmdRun, ['  sdk("./run/instrumentation");', '  sdk("..");']);

// The SDK takes the whole stack of every resource it constructs (Error.stackTraceLimit = Infinity,
// each frame through the source maps, then made a file URL) and sends it with the registration
// (RegisterResourceRequest's sourcePosition and stackTrace), for an engine that shows where a
// resource was declared; nslab's reads neither (engine/monitor.ts), so none is taken. `up` of the
// bench's star at N=200, 3 interleaved pairs: 5.86 -> 5.61 s, 9.6 -> 9.3 s of CPU. After the SDK.
const NO_SOURCE_POSITIONS = (cmdRun: string) => fromRuntime(cmdRun, ['  sdk("../resource").Resource.stackTrace = () => [];']);

/** What the program's process is started with. */
export interface ProgramLaunch {
  /** The program's @pulumi/pulumi. */
  sdk: string;
  project: Project;
  stack: string;
  parallel: number;
  env: NodeJS.ProcessEnv;
}

export interface ProgramExit {
  code: number;
  stderr: string;
}

type OnOutput = ((stream: "stdout" | "stderr", text: string) => void) | undefined;

/** A stream of the program's process, cut where a run ends: the marker, then `<code> warm|cold\n`. */
class RunStream {
  private held = "";
  constructor(private readonly marker: string) {}

  /** What of `chunk` (with what was held) belongs to the run, and the end of the run if it came. */
  push(chunk: string): { text: string; end?: { code: number; warm: boolean } } {
    const text = this.held + chunk;
    const at = text.indexOf(this.marker);
    if (at >= 0) {
      const nl = text.indexOf("\n", at);
      if (nl < 0) return this.hold(text, at);
      const [code, warm] = text.slice(at + this.marker.length, nl).split(" ");
      this.held = "";
      return { text: text.slice(0, at) + text.slice(nl + 1), end: { code: Number(code), warm: warm === "warm" } };
    }
    // A marker may begin at the end of the chunk.
    for (let n = Math.min(this.marker.length - 1, text.length); n > 0; n--) {
      if (this.marker.startsWith(text.slice(-n))) return this.hold(text, text.length - n);
    }
    return this.hold(text, text.length);
  }

  flush(): string {
    const rest = this.held;
    this.held = "";
    return rest;
  }

  private hold(text: string, at: number) {
    this.held = text.slice(at);
    return { text: text.slice(0, at) };
  }
}

/**
 * The program's process, started by the first run and kept for the next one: `up` runs its
 * preview and its update here. close() ends it (nslab closes its stdin).
 */
export class ProgramProcess {
  private child?: ChildProcessWithoutNullStreams;
  private exited?: Promise<void>;
  private marker = `#nslab-run-${randomBytes(8).toString("hex")}#`;
  /** The run under way (the output between runs goes to the last one). */
  private current?: { onOutput: OnOutput; stderr: string; filter: ReturnType<typeof stderrFilter>; ends: number; reused: boolean; done: (exit: ProgramExit & { warm: boolean }) => void };

  /** Runs the program once (`launch` starts the process when there is none); resolves with its exit code, as cmd/run's process would have had, and its stderr. */
  async run(launch: ProgramLaunch, request: RunRequest, onOutput: OnOutput): Promise<ProgramExit> {
    const finished = new Promise<ProgramExit & { warm: boolean }>((done) => {
      this.current = { onOutput, stderr: "", filter: stderrFilter(), ends: 0, reused: !!this.child, done };
    });
    if (this.child) this.child.stdin.write(JSON.stringify(request) + "\n");
    else this.start(launch, request);
    const { warm, ...exit } = await finished;
    if (!warm) await this.close();
    return exit;
  }

  /** Ends the process (closing its stdin) and waits for it to exit. */
  async close(): Promise<void> {
    this.child?.stdin.end();
    await this.exited;
  }

  private start(launch: ProgramLaunch, first: RunRequest): void {
    const cmdRun = path.join(launch.sdk, "cmd/run");
    const { project } = launch;
    const spec: RunnerSpec = {
      sdk: launch.sdk,
      library: path.join(packageRoot, "dist"),
      marker: this.marker,
      organization: "organization",
      project: project.name,
      stack: launch.stack,
      rootDirectory: project.dir,
      pwd: project.dir,
      parallel: launch.parallel,
      main: project.main,
    };
    const argv = [
      // engine/programRunner.ts collects the run before at the start of the next.
      "--expose-gc",
      // A program's heap grows for as long as it registers: every resource stays live until its
      // create is answered. V8 starts the old generation's limit small and runs a full collection
      // each time the heap outgrows it; starting at 256 MB skips those of the way up. The
      // bench's star, `up`: N=200, program 4.3 -> 4.0 s of CPU (4 pairs), peak RSS 306 -> 307 MB;
      // N=1000, 16.5 -> 16.1 s, 1063 -> 1065 MB; N=10 the same.
      "--initial-old-space-size=256",
      CHILD_OF_NSLAB,
      NODE_SOURCE_MAPS(cmdRun),
      NO_DEBUG_STACKS(cmdRun),
      NO_DEBUG_LOGS(cmdRun),
      LAZY_SDK_PARTS(cmdRun),
      SDK_FIRST(cmdRun),
      NO_SOURCE_POSITIONS(cmdRun),
      "--import",
      pathToFileURL(require.resolve("tsx", { paths: [packageRoot] })).href,
      require.resolve("./programRunner"),
      JSON.stringify(spec),
      JSON.stringify(first),
    ];
    // stdin: the runs after the first, and the pipe whose end tells the program that nslab is gone (CHILD_OF_NSLAB).
    const child = spawn(process.execPath, argv, { cwd: project.dir, env: launch.env, stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    // A process that exited by itself (the program called process.exit) is seen by "close" below; a run asked of it then ends there.
    child.stdin.on("error", () => undefined);
    const out = new RunStream(this.marker);
    const err = new RunStream(this.marker);
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      const { text, end } = out.push(d);
      if (text) this.current?.onOutput?.("stdout", text);
      if (end) this.ended(end);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      const { text, end } = err.push(d);
      this.stderr(text);
      if (end) this.ended(end);
    });
    this.exited = new Promise((resolve) => {
      child.on("error", (e) => {
        this.stderr(`${e.message}\n`);
        this.finish({ code: 1, warm: false });
        resolve();
      });
      child.on("close", (code, signal) => {
        this.child = undefined;
        const rest = out.flush();
        if (rest) this.current?.onOutput?.("stdout", rest);
        this.stderr(err.flush());
        // A run the process did not finish (the program exited, or was killed) ends with its exit
        // code; but a process that ended by itself once the run before was over may not have
        // started this one at all, and a success would make the update delete every resource.
        const exit = code ?? (signal ? 128 : 1);
        const unstarted = exit === 0 && this.current?.reused && this.current.ends >= 0;
        if (unstarted) this.stderr("the program's process ended between its runs\n");
        this.finish({ code: unstarted ? 1 : exit, warm: false });
        resolve();
      });
    });
  }

  /** The program's stderr: passed on by whole lines, without the runtime's noise (engine/programOutput.ts). */
  private stderr(text: string): void {
    const run = this.current;
    if (!run) return;
    const passed = run.filter.push(text);
    run.stderr += passed;
    if (passed) run.onOutput?.("stderr", passed);
  }

  /** A stream reached the end of the run; the run is over once both have. */
  private ended(end: { code: number; warm: boolean }): void {
    const run = this.current;
    if (!run) return;
    if (++run.ends === 2) this.finish(end);
  }

  private finish(end: { code: number; warm: boolean }): void {
    const run = this.current;
    if (!run || run.ends < 0) return;
    run.ends = -1;
    const rest = run.filter.flush();
    run.stderr += rest;
    if (rest) run.onOutput?.("stderr", rest);
    run.done({ code: end.code, stderr: run.stderr, warm: end.warm });
  }
}
