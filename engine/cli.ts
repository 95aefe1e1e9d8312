#!/usr/bin/env node
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { run, stateDirOf, type EngineOptions, type Operation } from "./deploy";
import { labGraph, toDot, toMermaid, type LabGraph } from "./graph";
import { previewMarkdown } from "./markdown";
import { diagnosticLine, header, json, stepLines, summary } from "./output";
import { loadProject, ProjectError } from "./project";
import { readState, statePath } from "./state";
import { SANDBOX_ENV, sandboxArgv, sandboxProblem } from "./sandbox";
import { captureCommand } from "./commands/capture";
import { execCommand } from "./commands/exec";
import { CommandUsageError } from "./commands/lab";
import { shellCommand } from "./commands/shell";

const COMMANDS: Record<string, (argv: string[]) => number> = { exec: execCommand, shell: shellCommand, capture: captureCommand };

// The `nslab` command.

const USAGE = `usage: nslab sandbox [DIR]
       nslab up|preview|refresh|destroy [DIR] [options]
       nslab graph [DIR] [--preview] [--format mermaid|dot] [options]
       nslab exec [DIR] NAME -- CMD...  |  nslab shell [DIR] NAME
       nslab capture [DIR] NAME [--end peer] [-w FILE] [FILTER...]

  up [DIR]        create or update the lab of the Pulumi program in DIR (default ".")
  preview [DIR]   show what up would do, changing nothing
  refresh [DIR]   read every resource back and update the state to match what exists
  destroy [DIR]   delete every resource of the stack (the program is not run)
  graph [DIR]     draw the lab from its state (namespaces, bridges, veth links with their
                  interfaces and addresses, NAT and port forwards); changes nothing. With
                  --preview it runs the program and draws the planned state, marking what the
                  change adds (+), changes (~, +-) and removes (-)
  exec, shell     run CMD (shell: $SHELL) in the namespace of the stack's resource NAME (a
                  Netns, a Process, a link...), found by its name in the program
  capture         tcpdump on the link NAME (a VethPair's first end, --end peer its second; a
                  Bridge): pcap to FILE, or to stdout when it is not a terminal
                  (nslab capture lab link | wireshark -k -i -), else the packets printed
  sandbox [DIR]   run the lab program in DIR inside a throwaway network sandbox: up, the lab
                  as the kernel sees it, pings between its addresses, the graph, destroy.
                  Nothing on this machine's own network changes.

options:
  --stack NAME       the stack (default "dev"); its config is Pulumi.NAME.yaml
  --config KEY=VAL   config for this run only (repeatable), on top of Pulumi.NAME.yaml
  --parallel N       at most N resource operations at a time (default 8)
  --state-dir DIR    where state lives (default DIR/.nslab, or $NSLAB_STATE_DIR)
  --json             print one JSON object (steps, changeSummary, outputs) on stdout
  --diff             show the changed values of each update and replace
  --format FORMAT    preview: markdown (a summary for a pull-request comment on stdout, the
                     progress on stderr); graph: mermaid (default) or dot
  --skip-typecheck   run a TypeScript program without type-checking it first (up and preview
                     check it, as pulumi up does; a program unchanged since it passed is not
                     checked again)
  --skip-preview     up without the preview that first checks every resource, as
                     pulumi up --skip-preview (faster; a bad input found late then fails the run
                     after the resources before it were created)

exit status: 0 success, 1 a step or the program failed, 2 usage error`;

const OPERATIONS = new Set<string>(["up", "preview", "refresh", "destroy"]);

class UsageError extends Error {}

interface Args {
  dir: string;
  stack?: string;
  json: boolean;
  diff: boolean;
  typecheck: boolean;
  preview: boolean;
  parallel?: number;
  config: Record<string, string>;
  stateDir?: string;
  format?: string;
  /** graph --preview */
  planned: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { dir: ".", json: false, diff: false, typecheck: true, preview: true, config: {}, planned: false };
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === "--json") args.json = true;
    else if (arg === "--diff") args.diff = true;
    else if (arg === "--skip-typecheck") args.typecheck = false;
    else if (arg === "--skip-preview") args.preview = false;
    else if (arg === "--stack") args.stack = value();
    else if (arg === "--state-dir") args.stateDir = value();
    else if (arg === "--format") args.format = value();
    else if (arg === "--preview") args.planned = true;
    else if (arg === "--parallel") {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--parallel needs a positive integer`);
      args.parallel = n;
    } else if (arg === "--config") {
      const kv = value();
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new UsageError(`--config needs KEY=VALUE, got ${JSON.stringify(kv)}`);
      args.config[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
    else dirs.push(arg);
  }
  if (dirs.length > 1) throw new UsageError(`one project directory at most, got ${dirs.join(" ")}`);
  args.dir = dirs[0] ?? ".";
  return args;
}

/** The engine's options from the command line; `out` takes the progress lines. */
function engineOptions(a: Args, out: (line: string) => void, quiet: boolean): EngineOptions {
  return {
    typecheck: a.typecheck,
    dir: a.dir,
    config: a.config,
    ...(a.stack ? { stack: a.stack } : {}),
    ...(a.parallel ? { parallel: a.parallel } : {}),
    ...(a.stateDir ? { stateDir: a.stateDir } : {}),
    onStep: (s) => stepLines(s, a.diff).forEach(out),
    onDiagnostic: (d) => (d.severity === "error" ? process.stderr.write(diagnosticLine(d) + "\n") : out(diagnosticLine(d))),
    onOutput: (stream, text) => (stream === "stderr" || quiet ? process.stderr : process.stdout).write(text),
  };
}

async function operation(op: Operation, argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (a.planned) throw new UsageError(`--preview is an option of graph; nslab preview ${a.dir} shows what ${op} would do`);
  if (a.format !== undefined) {
    if (op !== "preview") throw new UsageError(`--format is an option of preview and graph, not of ${op}`);
    if (a.format !== "markdown") throw new UsageError(`--format of preview must be markdown, got ${JSON.stringify(a.format)}`);
    if (a.json) throw new UsageError(`--format markdown and --json print different things; choose one`);
  }
  const markdown = a.format === "markdown";
  // --json and markdown own stdout; the progress goes to stderr.
  const quiet = a.json || markdown;
  const out = (line: string) => (quiet ? process.stderr : process.stdout).write(line + "\n");
  if (!a.json) out(header(op, a.stack ?? "dev"));
  // Ctrl-C: finish the steps in flight and save; a second one stops at once.
  const abort = new AbortController();
  const interrupt = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write("nslab: interrupted: finishing the steps in flight (Ctrl-C again to stop at once)\n");
    abort.abort();
  };
  process.on("SIGINT", interrupt);
  const options: EngineOptions = { ...engineOptions(a, out, quiet), signal: abort.signal };
  // Like pulumi up, up previews first: every resource is checked before anything changes, so a
  // bad input anywhere in the program fails the run with nothing created.
  const checked = op === "up" && a.preview ? await run("preview", { ...options, onStep: () => {} }) : undefined;
  const stopped = checked && (checked.failed || abort.signal.aborted);
  const result = stopped
    ? { ...checked, operation: op, steps: [], changeSummary: { same: 0, create: 0, update: 0, replace: 0, delete: 0 }, failed: true }
    : await run(op, { ...options, typecheck: a.typecheck && !checked });
  process.off("SIGINT", interrupt);
  if (a.json) process.stdout.write(JSON.stringify(json(result), null, 2) + "\n");
  else if (markdown) process.stdout.write(previewMarkdown(result, a.diff));
  else out(summary(result));
  return result.failed ? 1 : 0;
}

/** `nslab graph`: the lab from its state, or with --preview the plan of the program. */
async function graph(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  const format = a.format ?? "mermaid";
  if (format !== "mermaid" && format !== "dot") throw new UsageError(`--format of graph must be mermaid or dot, got ${JSON.stringify(format)}`);
  if (a.json || a.diff) throw new UsageError(`graph prints a graph; --json and --diff are options of the other commands`);
  const draw = (g: LabGraph) => process.stdout.write(format === "dot" ? toDot(g) : toMermaid(g));
  const stack = a.stack ?? "dev";
  if (a.planned) {
    const err = (line: string) => process.stderr.write(line + "\n");
    const r = await run("preview", { ...engineOptions(a, err, true), onStep: () => {} });
    if (r.failed) {
      err(summary(r));
      return 1;
    }
    draw(labGraph(r.planned ?? [], Object.fromEntries(r.steps.map((s) => [s.urn, s.op]))));
    return 0;
  }
  const file = statePath(stateDirOf(loadProject(a.dir, stack, a.config), a.stateDir), stack);
  const state = readState(file);
  if (!state) {
    console.error(`nslab: stack ${stack} has no state (${file}): nothing is deployed; nslab graph --preview draws what up would make`);
    return 1;
  }
  draw(labGraph(state.deployment.resources));
  return 0;
}

function sandbox(dir: string): number {
  if (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
    console.error(`nslab: ${dir} is not a Pulumi project (no Pulumi.yaml)`);
    return 2;
  }
  const problem = sandboxProblem();
  if (problem) {
    console.error(`nslab: cannot make the sandbox: ${problem}`);
    return 1;
  }
  const argvIn = sandboxArgv([process.execPath, path.join(__dirname, "sandboxRun.js"), dir]);
  const r = spawnSync(argvIn[0]!, argvIn.slice(1), { stdio: "inherit", env: { ...process.env, [SANDBOX_ENV]: "1" } });
  return r.status ?? 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command && OPERATIONS.has(command)) return await operation(command as Operation, rest);
    if (command === "graph") return await graph(rest);
    if (command && COMMANDS[command]) return COMMANDS[command](rest);
    if (command === "sandbox" && rest.length <= 1) return sandbox(rest[0] ?? ".");
    throw new UsageError(command ? `unknown command ${command}` : "no command");
  } catch (err) {
    if (err instanceof UsageError || err instanceof CommandUsageError) {
      console.error(`nslab: ${err.message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof ProjectError) {
      console.error(`nslab: ${err.message}`);
      return 2;
    }
    console.error(`nslab: ${(err as Error).message}`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
