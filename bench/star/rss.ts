import * as fs from "node:fs";

// The memory a method's processes hold at once: every 100 ms, the resident set sizes (VmRSS,
// shared pages counted in each process) of all the bench's descendants summed; the peak of
// those sums. For the engine that is the CLI, the program, the spawner and its commands.

const PAGE = 4096;

/** The pids under `root` (children, their children, ...), from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  for (let level = children.get(root) ?? []; level.length; level = level.flatMap((p) => children.get(p) ?? [])) found.push(...level);
  return found;
}

function rssBytes(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * PAGE;
  } catch {
    return 0;
  }
}

/** What a process is, for the breakdown: the nslab CLI, the program (engine/programRunner.js, or the runtime's cmd/run under Pulumi), or its command name. */
function role(pid: number): string {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (argv.some((a) => a.endsWith("engine/cli.js"))) return "engine";
    if (argv.some((a) => a.endsWith("cmd/run") || a.endsWith("engine/programRunner.js"))) return "program";
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "gone";
  }
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * Starts sampling this process's descendants; `stop` ends it and returns the peak sum in MiB,
 * and what each kind of process held at that moment.
 */
export function watchRss(): { stop: () => { peak: number; by: Record<string, number> } } {
  let peak = 0;
  let by: Record<string, number> = {};
  const sample = () => {
    const sizes = descendants(process.pid).map((pid): [number, number] => [pid, rssBytes(pid)]);
    const sum = sizes.reduce((total, [, size]) => total + size, 0);
    if (sum <= peak) return;
    peak = sum;
    by = {};
    for (const [pid, size] of sizes) by[role(pid)] = (by[role(pid)] ?? 0) + size;
  };
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      return { peak: mib(peak), by: Object.fromEntries(Object.entries(by).map(([k, v]) => [k, mib(v)])) };
    },
  };
}
