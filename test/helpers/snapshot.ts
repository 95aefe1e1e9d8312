import "./sandboxed";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";

// A text snapshot of everything a test could leave behind in its sandbox (docs/kernel-facts.md, "What the kernel does on its own"):
// namespaces, links, addresses, routes of every table, nslab's host records, iptables rules and
// user chains (counters stripped; empty built-in chains and tables ignored), the sysctls
// nslab may change, and the processes nslab started (Process) from this sandbox.

function run(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return `(${argv.join(" ")} failed)\n`;
  }
}

function iptablesLines(): string {
  return run(["iptables-save"])
    .split("\n")
    .filter((l) => l.startsWith("-A") || (l.startsWith(":") && !/^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) /.test(l)))
    .map((l) => l.replace(/\[\d+:\d+\]/, ""))
    .join("\n");
}

function files(dir: string): string {
  if (!fs.existsSync(dir)) return "";
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => !fs.statSync(`${dir}/${f}`).isDirectory())
    .sort()
    .join("\n");
}

/**
 * The live processes carrying NSLAB_OWNER whose stdout is a file on this sandbox's /run (their
 * log): pids are shared by every sandbox, /run is each one's own.
 */
export function sandboxProcesses(): { pid: number; line: string }[] {
  const run = fs.statSync("/run").dev;
  const found: { pid: number; line: string }[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const owner = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").find((e) => e.startsWith("NSLAB_OWNER="));
      if (owner && fs.statSync(`/proc/${pid}/fd/1`).dev === run) found.push({ pid: Number(pid), line: `${owner} ${fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim()}` });
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

export function kernelSnapshot(): string {
  return [
    "# netns\n" + files("/run/netns"),
    "# links\n" + run(["ip", "-o", "link", "show"]).replace(/\\\s+link\/\S+ [0-9a-f:]+ brd [0-9a-f:]+/g, ""),
    "# addresses\n" + run(["ip", "-o", "addr", "show"]).replace(/valid_lft.*$/gm, ""),
    "# routes\n" + run(["ip", "route", "show", "table", "all"]) + run(["ip", "-6", "route", "show", "table", "all"]),
    "# nslab records\n" + files("/run/nslab"),
    "# iptables\n" + iptablesLines(),
    "# processes\n" + sandboxProcesses().map((p) => p.line).sort().join("\n"),
    "# sysctl\n" + ["net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"].map((k) => `${k}=${fs.readFileSync(`/proc/sys/${k}`, "utf8").trim()}`).join("\n"),
  ].join("\n");
}
