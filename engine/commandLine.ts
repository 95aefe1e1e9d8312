import { parseArgs } from "node:util";

// The command line, declared: each command is one entry (its options, its arguments, its help),
// parsed by Node's own util.parseArgs (no dependency, strict: an unknown option or a missing
// value is an error; `--no-X` negates a boolean option), and the usage and each command's
// `--help` are printed from the same entries.

export interface Option {
  type: "string" | "boolean";
  /** Repeatable: the values in order. */
  multiple?: boolean;
  short?: string;
  /** The value's placeholder in the help (string options). */
  value?: string;
  help: string;
}

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  name: string;
  /** What follows the command's name: its arguments and options. */
  synopsis: string;
  /** One line for the list of commands. */
  summary: string;
  /** More lines for `nslab NAME --help`. */
  description?: string;
  options: Record<string, Option>;
  /** At most this many positional arguments. */
  positionals: number;
  /** The command parses its own arguments (given as the positionals): `options` only document them. */
  ownArgs?: boolean;
  run(values: Values, positionals: string[]): Promise<number> | number;
}

export class UsageError extends Error {}

/** The options several commands share, by name (a command takes the ones it needs). */
export const OPTIONS = {
  stack: { type: "string", value: "NAME", help: 'the stack (default "dev"); its config is Pulumi.NAME.yaml' },
  config: { type: "string", multiple: true, value: "KEY=VAL", help: "config for this run only (repeatable), on top of Pulumi.NAME.yaml" },
  parallel: { type: "string", value: "N", help: "at most N resource operations at a time (default 32)" },
  "state-dir": { type: "string", value: "DIR", help: "where state lives (default DIR/.nslab, or $NSLAB_STATE_DIR)" },
  json: { type: "boolean", help: "print one JSON object (steps, changeSummary, outputs) on stdout" },
  diff: { type: "boolean", help: "show the changed values of each update and replace" },
  refresh: {
    type: "boolean",
    help: "read every resource back first and go on from what exists (what was deleted or\nchanged by hand is then re-made); --no-refresh overrides the project's\n`options: refresh: always` (Pulumi.yaml)",
  },
  "skip-typecheck": {
    type: "boolean",
    help: "run a TypeScript program without type-checking it first (up and preview check it,\nas pulumi up does; a program unchanged since it passed is not checked again)",
  },
} satisfies Record<string, Option>;



const HELP: Option = { type: "boolean", short: "h", help: "show this help" };

/**
 * The options and arguments of one command (its `--help` included). An option of other commands
 * only is named as such: `--preview is an option of graph, not of up`.
 */
export function parseCommand(command: Command, args: string[], commands: readonly Command[]): { values: Values; positionals: string[] } {
  const options = { ...command.options, help: HELP };
  const end = args.indexOf("--");
  for (const arg of end < 0 ? args : args.slice(0, end)) {
    const name = /^--(?:no-)?([^=]+)/.exec(arg)?.[1];
    if (!name || name in options) continue;
    const owners = commands.filter((c) => name in c.options).map((c) => c.name);
    if (owners.length) throw new UsageError(`--${name} is an option of ${owners.join(", ")}, not of ${command.name}`);
  }
  const parse = () => parseArgs({ args, options, allowPositionals: true, allowNegative: true, strict: true });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    throw new UsageError(`${command.name}: ${(err as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (!values.help && positionals.length > command.positionals) throw new UsageError(`${command.name} takes at most ${command.positionals} argument(s), got ${positionals.join(" ")}`);
  return { values: values as Values, positionals };
}

function optionLines(options: Record<string, Option>): string[] {
  const heads = Object.entries(options).map(([name, o]) => {
    const flag = `--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    return o.short ? `-${o.short}, ${flag}` : `    ${flag}`;
  });
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  return Object.values(options).flatMap((o, i) => {
    const [first = "", ...rest] = o.help.split("\n");
    return [`  ${heads[i]!.padEnd(width)}${first}`, ...rest.map((l) => `  ${" ".repeat(width)}${l}`)];
  });
}

/** `nslab NAME --help`. */
export function commandHelp(program: string, command: Command): string {
  return [`usage: ${program} ${command.name} ${command.synopsis}`, "", command.summary, ...(command.description ? ["", command.description] : []), "", "options:", ...optionLines({ ...command.options, help: HELP })].join("\n");
}

/** `nslab --help`: every command's synopsis, then one line about each. */
export function usage(program: string, commands: readonly Command[], footer: string): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    ...commands.map((c, i) => `${i === 0 ? "usage:" : "      "} ${program} ${c.name} ${c.synopsis}`),
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    `${program} COMMAND --help shows a command's arguments and options.`,
    footer,
  ].join("\n");
}
