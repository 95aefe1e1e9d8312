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

/** Starts sampling this process's descendants; `stop` ends it and returns the peak sum in MiB. */
export function watchRss(): { stop: () => number } {
  let peak = 0;
  const sample = () => {
    const sum = descendants(process.pid).reduce((total, pid) => total + rssBytes(pid), 0);
    if (sum > peak) peak = sum;
  };
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.round(peak / 2 ** 20);
    },
  };
}
