import * as path from "node:path";
import { Monitor, StepFailed, type MonitorHandler, type Severity } from "./monitor";
import { packageRoot } from "./packageRoot";
import { ProgramProcess } from "./programProcess";
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
  /**
   * The program's process, shared by the runs given it (up's preview and its update: docs/engine.md,
   * "Running the program"); the caller closes it. Default: a process for this run.
   */
  program?: ProgramProcess;
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
    // What the run reports, held back while its program runs beside the type check; nothing is
    // saved meanwhile either.
    let held: (() => void)[] | undefined;
    const shown = (report: () => void) => (held ? held.push(report) : report());
    const writer = new StateWriter(file);
    const save = (final = false) => writer.write(deployment, final);
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
      events: { step: (s) => shown(() => options.onStep?.(s)), finding: (s) => shown(() => options.onFinding?.(s)), diagnostic: (d) => shown(() => options.onDiagnostic?.(d)), changed: () => (dryRun || held ? Promise.resolve() : changed()) },
    });
    // Stopped at once (a second Ctrl-C exits the process): the state as it stands, operations
    // in flight recorded as pending, and the lock released.
    onExit = () => {
      if (!dryRun && !held) save();
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
    if (runsProgram) {
      await monitor.reachable();
      const config = JSON.stringify(project.config);
      const programEnv = { ...env, PULUMI_CONFIG: config, PULUMI_CONFIG_SECRET_KEYS: "[]" };
      const before = { diagnostics: deployment.diagnostics.length, planned: deployment.snapshot().resources };
      // The program runs beside the type check, not after it: tsc takes about a second before
      // the program would start (docs/engine.md, "Running the program"). Until the check passed,
      // what the run reports is held back and nothing changes: every operation waits at the gate
      // and no state is written. Type errors fail the waiting operations, and are then all the
      // run shows, as if they had stopped it before the program ran.
      const checked = typecheck ? typeErrors(project, env.NODE_PATH!, stateDir) : undefined;
      if (checked) {
        held = [];
        deployment.gate = checked.then((report) => {
          if (report) throw new StepFailed();
          const reports = held ?? [];
          held = undefined;
          for (const r of reports) r();
        });
        deployment.gate.catch(() => undefined);
      }
      const launch = { sdk, project, stack, parallel: options.parallel ?? DEFAULT_PARALLEL, env: programEnv };
      const onOutput = (stream: "stdout" | "stderr", text: string) => shown(() => options.onOutput?.(stream, text));
      // The process `up` shares between its preview and its update, else one for this run.
      const program = options.program ?? new ProgramProcess();
      const { code, stderr } = await program.run(launch, { monitor: monitor.address, dryRun, config }, onOutput).finally(() => (options.program ? undefined : program.close()));
      await settle();
      deployment.programExited(code, stderr);
      await deletePhase();
      const report = await checked;
      if (report) {
        const message = `the program has type errors (--skip-typecheck runs it anyway):\n${report}`;
        options.onDiagnostic?.({ severity: "error", message });
        const diagnostics = [...deployment.diagnostics.slice(0, before.diagnostics), { severity: "error" as const, message }];
        const failed = { operation, stack, steps: [], changeSummary: summarize([]), diagnostics, failed: true, ...(refresh ? { refreshed: deployment.findings } : {}), outputs: {} };
        // The state as it was: nothing was written.
        return dryRun ? { ...failed, planned: before.planned } : { ...failed, state: readState(file) };
      }
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
