import { CommandError } from "../errors";
import { GroupCommit } from "../lib/groupCommit";
import { classify, DUMP_INTERRUPTED } from "./classify";
import { beforeCommand, exec, notInstalled, runOnce, type RunResult } from "./exec";
import { hostScoped, unscoped } from "./host";

// Group commit of `ip` commands: the commands that concurrent resource operations issue in one
// namespace (with the same global options) while a batch of that namespace is running are run
// together, as the lines of one `ip [-n NETNS] -j OPTIONS -force -batch -` process. A process
// costs ~1.3 ms even started through the spawner (exec.ts); a line ~0.1 ms. Commands of one queue start in the
// order they were issued, so a read issued right after a write, without waiting for it, sees it.
//
// Each batch is a new process: iproute2 caches link names and keeps the namespaces that a
// `netns NAME` word opened for as long as it runs, so a long-lived `ip` would act on links that
// others have since deleted and keep deleted namespaces alive (measured with iproute2 6.1).
// Lines of one batch come from operations that run concurrently anyway, so their order is free.
//
// -force runs every line whatever the others do; a failed line is followed on stderr by
// `Command failed -:N`, which gives each command its own error, and each read that did not fail
// prints one JSON line on stdout (writes print nothing under -j), in order.

interface Command {
  /** The same command as its own process: what its error shows, and what runs when `line` cannot. */
  argv: readonly string[];
  /** Its batch line; undefined when a word cannot be written on one (see lineOf). */
  line: string | undefined;
  read: boolean;
  resolve: (stdout: string) => void;
  reject: (err: Error) => void;
}

/** The namespace and global options of a queue, by its key. */
const queueOf = (key: string) => {
  const [netns, options] = unscoped(key).split("\0") as [string, string];
  return { netns: netns || undefined, options: options ? options.split(" ") : [] };
};

/**
 * Runs the commands in order: those that batch lines can carry, up to the first that cannot, as
 * one batch; a command that cannot, alone. Returns the rest, and the reads to repeat.
 */
const queues = new GroupCommit<Command>(async (key, waiting) => {
  if (waiting[0]!.line === undefined) {
    await runAlone(waiting[0]!);
    return waiting.slice(1);
  }
  const n = waiting.findIndex((c) => c.line === undefined);
  const batch = n < 0 ? waiting : waiting.slice(0, n);
  return [...(await run(queueOf(key), batch)), ...waiting.slice(batch.length)];
});

/**
 * Runs `ip [-n NETNS] OPTIONS [-j] ARGS` (its `argv`) as a line of the namespace's next batch:
 * resolves with the JSON a read prints ("" for a write), or rejects with the CommandError the
 * command run alone would give. A command whose words a batch line cannot carry runs alone, in
 * its turn.
 */
export function ipQueued(argv: readonly string[], netns: string | undefined, options: readonly string[], args: readonly string[], read: boolean): Promise<string> {
  const line = lineOf(args);
  return new Promise((resolve, reject) => {
    if (line !== undefined) beforeCommand(argv); // a command run alone is counted by exec
    queues.add(hostScoped(`${netns ?? ""}\0${options.join(" ")}`), { argv, line, read, resolve, reject });
  });
}

async function runAlone(c: Command): Promise<void> {
  try {
    c.resolve((await exec(c.argv)).stdout);
  } catch (err) {
    c.reject(err as Error);
  }
}

/** Runs one batch and settles its commands; returns the reads to run again (a dump raced with a change). */
async function run(q: { netns: string | undefined; options: readonly string[] }, batch: Command[]): Promise<Command[]> {
  const argv = ["ip", ...(q.netns ? ["-n", q.netns] : []), "-j", ...q.options, "-force", "-batch", "-"];
  let r: RunResult;
  try {
    r = await runOnce(argv, batch.map((c) => c.line).join("\n") + "\n");
  } catch (err) {
    for (const c of batch) c.reject(err as Error);
    return [];
  }
  const errors = errorsByLine(r.stderr);
  // No line failed yet `ip` did: it could not start (no such namespace) or was stopped; each
  // command gets the error it would have had alone.
  if (r.exitCode !== 0 && !errors.size) {
    const stderr = r.code === "ENOENT" ? notInstalled("ip") : r.stderr;
    for (const c of batch) c.reject(new CommandError(r.code === "ENOENT" ? "UNSUPPORTED" : classify("ip", r.exitCode, stderr), c.argv, r.exitCode, stderr));
    return [];
  }
  const interrupted = DUMP_INTERRUPTED.test(r.stderr);
  const json = r.stdout.split("\n").filter((l) => l.startsWith("["));
  const again: Command[] = [];
  batch.forEach((c, i) => {
    const error = errors.get(i + 1);
    if (error !== undefined) return c.reject(new CommandError(classify("ip", 1, error), c.argv, 1, error));
    if (!c.read) return c.resolve("");
    const answer = json.shift() ?? "";
    if (interrupted) again.push(c);
    else c.resolve(answer);
  });
  return again;
}

/** The stderr of each failed line, by line number: what `ip` printed before its `Command failed -:N`. */
export function errorsByLine(stderr: string): Map<number, string> {
  const errors = new Map<number, string>();
  let text: string[] = [];
  for (const line of stderr.split("\n")) {
    const failed = /^Command failed -:(\d+)$/.exec(line);
    if (!failed) {
      if (line.trim()) text.push(line);
      continue;
    }
    errors.set(Number(failed[1]), text.join("\n"));
    text = [];
  }
  return errors;
}

/**
 * The batch line of argv words, or undefined when one cannot be written on it: iproute2 cuts a
 * line at its first #, splits it on blanks, and takes a word starting with ' or " up to the same
 * quote (no escapes).
 */
export function lineOf(words: readonly string[]): string | undefined {
  const out: string[] = [];
  for (const w of words) {
    if (/[\n\r\0#]/.test(w)) return undefined;
    if (/^[^\s"']+$/.test(w)) out.push(w);
    else if (!w.includes('"')) out.push(`"${w}"`);
    else if (!w.includes("'")) out.push(`'${w}'`);
    else return undefined;
  }
  return out.join(" ");
}
