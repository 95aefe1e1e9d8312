import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { stateDirOf } from "../deploy";
import { loadProject } from "../project";
import { readState, statePath } from "../state";
import { fromState, type Props } from "../values";

// What `nslab exec`, `shell` and `capture` share: their arguments ([DIR] NAME, --stack,
// --state-dir) and the stack's resources by name, read from its state, so that a kernel name with
// its hash suffix never has to be looked up by hand.

const KIND = "pulumi-nodejs:dynamic/nslab:";

/** A bad command line: cli.ts prints it with the usage (exit 2). */
export class CommandUsageError extends Error {}

/** A resource of the stack: its name in the program, its kind and its values (inputs and outputs). */
export interface LabResource {
  name: string;
  kind: string;
  values: Props;
}

export interface LabArgs {
  dir: string;
  name: string;
  /** The positionals after NAME (capture's filter). */
  rest: string[];
  values: Record<string, string | undefined>;
}

/**
 * Parses `[DIR] NAME [rest…]` with the options of the command besides --stack and --state-dir.
 * The first word is DIR when it is a Pulumi project's directory.
 */
export function labArgs(argv: string[], options: Record<string, { type: "string"; short?: string }> = {}): LabArgs {
  const parsed = usage(() => parseArgs({ args: argv, allowPositionals: true, options: { stack: { type: "string" }, "state-dir": { type: "string" }, ...options } }));
  const words = parsed.positionals;
  const dir = words.length > 1 && fs.existsSync(path.join(words[0]!, "Pulumi.yaml")) ? words.shift()! : ".";
  const name = words.shift();
  if (!name) throw new CommandUsageError("name the resource (e.g. a Netns or a VethPair of the stack)");
  return { dir, name, rest: words, values: parsed.values as Record<string, string | undefined> };
}

/** What `parse` returns; what it throws is a usage error. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new CommandUsageError((err as Error).message);
  }
}

/** The stack's nslab resources, from its state. */
export function labResources(a: LabArgs): LabResource[] {
  const stack = a.values.stack ?? "dev";
  const file = statePath(stateDirOf(loadProject(a.dir, stack), a.values["state-dir"]), stack);
  const state = readState(file);
  if (!state) throw new Error(`stack ${stack} has no state (${file}): nothing is deployed; run nslab up ${a.dir} first`);
  return state.deployment.resources
    .filter((r) => r.custom && !r.delete && r.type.startsWith(KIND))
    .map((r) => ({ name: r.urn.split("::").pop()!, kind: r.type.slice(KIND.length), values: { ...fromState(r.inputs), ...fromState(r.outputs) } }));
}

/** The resource called `name` among those `fits` accepts; an unknown name lists the ones there are. */
export function find(resources: LabResource[], name: string, what: string, fits: (r: LabResource) => boolean): LabResource {
  const candidates = resources.filter(fits);
  const found = candidates.find((r) => r.name === name);
  if (found) return found;
  const known = candidates
    .map((r) => `${r.name} (${r.kind})`)
    .sort()
    .join(", ");
  throw new Error(`no ${what} called "${name}" in the stack; ${known ? `there are: ${known}` : "the stack has none"}`);
}

/** The namespace a resource is in ("" for the host's): a Netns's own name, else its `netns`. */
export function netnsOf(r: LabResource): string {
  return String((r.kind === "Netns" ? r.values.name : r.values.netns) ?? "");
}

/** Resources that are in a namespace: anything but what lives in the host's alone. */
export const hasNetns = (r: LabResource) => r.kind === "Netns" || typeof r.values.netns === "string";

/** Runs argv on this terminal; its exit status (128 + N when a signal N ended it). */
export function runAttached(argv: string[], env?: NodeJS.ProcessEnv): number {
  const run = spawnSync(argv[0]!, argv.slice(1), { stdio: "inherit", env });
  if (run.error) throw new Error(`${argv.join(" ")}: ${run.error.message}`);
  return run.status ?? 128 + (run.signal ? os.constants.signals[run.signal] : 0);
}

/** argv run in namespace `netns` ("" the host's). */
export const inNetns = (netns: string, argv: string[]) => (netns ? ["ip", "netns", "exec", netns, ...argv] : argv);
