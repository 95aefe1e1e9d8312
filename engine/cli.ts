#!/usr/bin/env node
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { commandHelp, OPTIONS, parseCommand, usage, UsageError, type Command, type Values } from "./commandLine";
import { captureCommand } from "./commands/capture";
import { execCommand } from "./commands/exec";
import { CommandUsageError } from "./commands/lab";
import { shellCommand } from "./commands/shell";
import { run, stateDirOf, type EngineOptions, type Operation, type Result } from "./deploy";
import { labGraph, toDot, toMermaid, type LabGraph } from "./graph";
import { previewMarkdown } from "./markdown";
import { diagnosticLine, findingLines, header, json, stepLines, summary } from "./output";
import { ProgramProcess } from "./programProcess";
import { loadProject, ProjectError } from "./project";
import { lockStack, readState, statePath } from "./state";
import { SANDBOX_ENV, sandboxArgv, sandboxProblem } from "./sandbox";

// The `nslab` command: one entry per command in COMMANDS (commandLine.ts parses and prints help;
// a command kept in a file of its own is a `Command` it exports, added to COMMANDS).


const { stack, config, parallel, json: jsonOption, diff, refresh } = OPTIONS;
const stateDir = OPTIONS["state-dir"];
const skipTypecheck = OPTIONS["skip-typecheck"];
const ENGINE_OPTIONS = { stack, config, parallel, "state-dir": stateDir, json: jsonOption };

/** The engine's options from the command line; `out` takes the progress lines, `printed` the diagnostics already shown. */
function engineOptions(v: Values, dir: string, out: (line: string) => void, quiet: boolean, printed = new Set<string>()): EngineOptions {
  const n = v.parallel === undefined ? undefined : Number(v.parallel);
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new UsageError(`--parallel needs a positive integer, got ${JSON.stringify(v.parallel)}`);
  const pairs = (v.config as string[] | undefined) ?? [];
  const configValues: Record<string, string> = {};
  for (const kv of pairs) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`--config needs KEY=VALUE, got ${JSON.stringify(kv)}`);
    configValues[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    typecheck: !v["skip-typecheck"],
    dir,
    config: configValues,
    ...(v.stack ? { stack: v.stack as string } : {}),
    ...(n ? { parallel: n } : {}),
    ...(v["state-dir"] ? { stateDir: v["state-dir"] as string } : {}),
    ...(v.refresh !== undefined ? { refresh: v.refresh as boolean } : {}),
    onStep: (s) => stepLines(s, !!v.diff).forEach(out),
    onFinding: (s) => findingLines(s).forEach(out),
    // A warning the preview before up printed (an interrupted operation) is not printed again by the up.
    onDiagnostic: (d) => {
      const line = diagnosticLine(d);
      if (printed.has(line)) return;
      printed.add(line);
      if (d.severity === "error") process.stderr.write(line + "\n");
      else out(line);
    },
    onOutput: (stream, text) => (stream === "stderr" || quiet ? process.stderr : process.stdout).write(text),
  };
}

/** up, preview, refresh, destroy. */
async function operation(op: Operation, v: Values, [dir = "."]: string[]): Promise<number> {
  const markdown = v.format === "markdown";
  if (v.format !== undefined && !markdown) throw new UsageError(`--format of preview must be markdown, got ${JSON.stringify(v.format)}`);
  if (markdown && v.json) throw new UsageError(`--format markdown and --json print different things; choose one`);
  // --json and markdown own stdout; the progress goes to stderr.
  const quiet = !!v.json || markdown;
  const out = (line: string) => (quiet ? process.stderr : process.stdout).write(line + "\n");
  if (!v.json) out(header(op, (v.stack as string | undefined) ?? "dev"));
  // Ctrl-C: finish the steps in flight and save; a second one stops at once (the engine saves the
  // state as it stands on exit, operations in flight recorded as pending).
  const abort = new AbortController();
  const interrupt = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write("nslab: interrupted: finishing the steps in flight (Ctrl-C again to stop at once)\n");
    abort.abort();
  };
  process.on("SIGINT", interrupt);
  const options: EngineOptions = { ...engineOptions(v, dir, out, quiet), signal: abort.signal };
  // Like pulumi up, up previews first: every resource is checked before anything changes, so a
  // bad input anywhere in the program fails the run with nothing created.
  // The stack stays locked from the preview to the end of the change: no other run slips between.
  const previewFirst = op === "up" && !v["skip-preview"];
  const stackName = options.stack ?? "dev";
  const unlock = previewFirst ? lockStack(stateDirOf(loadProject(dir, stackName, options.config), options.stateDir), stackName) : () => {};
  // One program process runs the preview's program and then the update's (docs/engine.md, "Running the program").
  const program = previewFirst ? new ProgramProcess() : undefined;
  let result: Result;
  try {
    const checked = previewFirst ? await run("preview", { ...options, program, onStep: () => {}, onFinding: () => {} }) : undefined;
    const stopped = checked && (checked.failed || abort.signal.aborted);
    result = stopped
      ? { ...checked, operation: op, steps: [], changeSummary: { same: 0, create: 0, update: 0, replace: 0, delete: 0 }, failed: true }
      : await run(op, { ...options, program, typecheck: options.typecheck && !checked });
  } finally {
    await program?.close();
    unlock();
  }
  process.off("SIGINT", interrupt);
  if (v.json) process.stdout.write(JSON.stringify(json(result), null, 2) + "\n");
  else if (markdown) process.stdout.write(previewMarkdown(result, !!v.diff));
  else out(summary(result));
  return result.failed ? 1 : 0;
}

/** `nslab graph`: the lab from its state, or with --preview the plan of the program. */
async function graph(v: Values, [dir = "."]: string[]): Promise<number> {
  const format = (v.format as string | undefined) ?? "mermaid";
  if (format !== "mermaid" && format !== "dot") throw new UsageError(`--format of graph must be mermaid or dot, got ${JSON.stringify(format)}`);
  const draw = (g: LabGraph) => process.stdout.write(format === "dot" ? toDot(g) : toMermaid(g));
  const stackName = (v.stack as string | undefined) ?? "dev";
  if (v.preview) {
    const err = (line: string) => process.stderr.write(line + "\n");
    const r = await run("preview", { ...engineOptions(v, dir, err, true), onStep: () => {} });
    if (r.failed) {
      err(summary(r));
      return 1;
    }
    draw(labGraph(r.planned ?? [], Object.fromEntries(r.steps.map((s) => [s.urn, s.op]))));
    return 0;
  }
  const { config: configValues, stateDir: dirOfState } = engineOptions(v, dir, () => {}, true);
  const project = loadProject(dir, stackName, configValues);
  const file = statePath(stateDirOf(project, dirOfState), stackName);
  const state = readState(file, { project: project.name, stack: stackName });
  if (!state) {
    console.error(`nslab: stack ${stackName} has no state (${file}): nothing is deployed; nslab graph --preview draws what up would make`);
    return 1;
  }
  draw(labGraph(state.deployment.resources));
  return 0;
}

function sandbox(_: Values, [dir = "."]: string[]): number {
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

const COMMANDS: Command[] = [
  {
    name: "sandbox",
    synopsis: "[DIR]",
    summary: "run the lab program in DIR inside a throwaway network sandbox",
    description: "up, the lab as the kernel sees it, pings between its addresses, the graph, destroy.\nNothing on this machine's own network changes.",
    options: {},
    positionals: 1,
    run: sandbox,
  },
  {
    name: "up",
    synopsis: "[DIR] [options]",
    summary: 'create or update the lab of the Pulumi program in DIR (default ".")',
    options: {
      ...ENGINE_OPTIONS,
      diff,
      refresh,
      "skip-typecheck": skipTypecheck,
      "skip-preview": {
        type: "boolean",
        help: "up without the preview that first checks every resource, as pulumi up --skip-preview\n(faster; a bad input found late then fails the run after the resources before it\nwere created)",
      },
    },
    positionals: 1,
    run: (v, p) => operation("up", v, p),
  },
  {
    name: "preview",
    synopsis: "[DIR] [options]",
    summary: "show what up would do, changing nothing",
    options: {
      ...ENGINE_OPTIONS,
      diff,
      refresh,
      "skip-typecheck": skipTypecheck,
      format: { type: "string", value: "markdown", help: "a summary for a pull-request comment on stdout (the progress on stderr)" },
    },
    positionals: 1,
    run: (v, p) => operation("preview", v, p),
  },
  {
    name: "refresh",
    synopsis: "[DIR] [options]",
    summary: "read every resource back and update the state to match what exists",
    description: "Prints what it found: each resource gone or changed (by hand, or by the kernel), with the\nchanged values. The program is not run.",
    options: { ...ENGINE_OPTIONS, "skip-typecheck": skipTypecheck },
    positionals: 1,
    run: (v, p) => operation("refresh", v, p),
  },
  {
    name: "destroy",
    synopsis: "[DIR] [options]",
    summary: "delete every resource of the stack (the program is not run)",
    options: { ...ENGINE_OPTIONS, refresh, "skip-typecheck": skipTypecheck },
    positionals: 1,
    run: (v, p) => operation("destroy", v, p),
  },
  {
    name: "graph",
    synopsis: "[DIR] [--preview] [--format mermaid|dot] [options]",
    summary: "draw the lab from its state; changes nothing",
    description:
      "Namespaces, bridges, veth links with their interfaces and addresses, NAT and port forwards.\nWith --preview it runs the program and draws the planned state, marking what the change\nadds (+), changes (~, +-) and removes (-).",
    options: {
      stack,
      config,
      parallel,
      "state-dir": stateDir,
      "skip-typecheck": skipTypecheck,
      preview: { type: "boolean", help: "draw the plan of the program instead of the state" },
      format: { type: "string", value: "FORMAT", help: "mermaid (default) or dot" },
    },
    positionals: 1,
    run: graph,
  },
  {
    name: "exec",
    synopsis: "[DIR] NAME -- CMD...",
    summary: "run CMD in the namespace of the stack's resource NAME (a Netns, a Process, a link...)",
    options: { stack, "state-dir": stateDir },
    positionals: Infinity,
    ownArgs: true,
    run: (_, argv) => execCommand(argv),
  },
  {
    name: "shell",
    synopsis: "[DIR] NAME",
    summary: "open $SHELL in the namespace of the stack's resource NAME",
    options: { stack, "state-dir": stateDir },
    positionals: Infinity,
    ownArgs: true,
    run: (_, argv) => shellCommand(argv),
  },
  {
    name: "capture",
    synopsis: "[DIR] NAME [--end peer] [-w FILE] [FILTER...]",
    summary: "tcpdump on the link NAME (a VethPair's first end, --end peer its second; a Bridge)",
    description: "pcap to FILE, or to stdout when it is not a terminal (nslab capture lab link | wireshark -k -i -),\nelse the packets printed.",
    options: {
      stack,
      "state-dir": stateDir,
      end: { type: "string", value: "peer", help: "the second end of a VethPair" },
      write: { type: "string", short: "w", value: "FILE", help: "write pcap to FILE (- for stdout)" },
    },
    positionals: Infinity,
    ownArgs: true,
    run: (_, argv) => captureCommand(argv),
  },
  {
    name: "help",
    synopsis: "[COMMAND]",
    summary: "show this help, or a command's",
    options: {},
    positionals: 1,
    run: (_, [name]) => {
      const command = COMMANDS.find((c) => c.name === name);
      if (name && !command) throw new UsageError(`no command ${name}`);
      console.log(command ? commandHelp("nslab", command) : USAGE);
      return 0;
    },
  },
];

const USAGE = usage("nslab", COMMANDS, "exit status: 0 success, 1 a step or the program failed, 2 usage error");

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === "--help" || name === "-h") {
      console.log(USAGE);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(name ? `unknown command ${name}` : "no command");
    if (command.ownArgs) {
      const options = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
      if (options.includes("--help") || options.includes("-h")) {
        console.log(commandHelp("nslab", command));
        return 0;
      }
      return await command.run({}, rest);
    }
    const { values, positionals } = parseCommand(command, rest, COMMANDS);
    if (values.help) {
      console.log(commandHelp("nslab", command));
      return 0;
    }
    return await command.run(values, positionals);
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
