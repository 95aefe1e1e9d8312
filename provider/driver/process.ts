import * as fs from "node:fs";
import * as path from "node:path";
import { NslabError } from "../errors";
import { exec } from "./exec";
import { readText } from "./files";
import { currentHost } from "./host";
import { RUN_DIR } from "./runstate";

// Long-running processes in a namespace (the Process kind). No systemd is assumed (CI has none):
// a short-lived bash, the launcher, started like every command by the spawner (exec.ts), starts
// the command in the background under `setsid`, so in its own session and process group with no
// controlling terminal (the Pulumi CLI ends a provider host with SIGKILL to the host's process
// group; a terminal's hangup goes to its session), in the namespace (`ip netns exec`), with stdin
// from /dev/null and stdout and stderr to a log file under /run/nslab. The launcher waits until
// the command listens on its ready port, exits at once, or has run for a moment, and then ends:
// the command is orphaned, so it belongs to init (or the nearest subreaper), not to the provider
// host, and keeps running when the host and the deployment end, until delete stops it. It sees
// the provider's environment, the `env` given, and NSLAB_OWNER, the mark that tells it is ours.
// On a remote host (driver/host.ts) the launcher runs there, and so do the looks at /proc and the
// signals, as the bash scripts below (REMOTE); its environment there is the clean one of every
// remote command (driver/ssh.ts) plus `env` and the mark.

export const LOG_DIR = path.join(RUN_DIR, "process");

/** The variable in the environment of every process nslab starts, set to its owner hash. */
export const OWNER_VARIABLE = "NSLAB_OWNER";

/** Seconds between two looks at a starting or stopping process. */
const TICK = 0.05;
/** Without a ready port, how long a command must keep running to count as started. */
export const SETTLE_SECONDS = 0.3;

// $1 log, $2 netns, $3 cwd ("" none), $4 ready port ("" none), $5 ticks to wait; then env's
// arguments (assignments, then the command). Prints `pid PID` and the process's /proc stat line,
// then `exit STATUS` (it ended), `ready` (it listens on the port in the namespace) or `waited`.
const LAUNCHER = [
  "log=$1 ns=$2 cwd=$3 port=$4 ticks=$5",
  "shift 5",
  'if [ -n "$cwd" ]; then cd -- "$cwd" || exit 3; fi',
  'setsid ip netns exec "$ns" env "$@" </dev/null >"$log" 2>&1 &',
  "pid=$!",
  'IFS= read -r stat <"/proc/$pid/stat"',
  'echo "pid $pid"',
  'echo "stat $stat"',
  '[ -n "$port" ] && hex=$(printf %04X "$port")',
  "for ((i = 0; ; i++)); do",
  '  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; echo "exit $?"; exit 0; fi',
  // The socket table of the process's own namespace, once it is in the namespace.
  '  if [ -n "$port" ] && [ "/proc/$pid/ns/net" -ef "/run/netns/$ns" ] &&',
  '    grep -qE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:0000 0A " "/proc/$pid/net/tcp" "/proc/$pid/net/tcp6" 2>/dev/null; then echo ready; exit 0; fi',
  '  if ((i >= ticks)); then echo waited; exit 0; fi',
  `  sleep ${TICK}`,
  "done",
].join("\n");

export interface LaunchSpec {
  netns: string;
  command: readonly string[];
  /** NAME=value assignments, NSLAB_OWNER's included. */
  env: readonly string[];
  cwd?: string;
  logPath: string;
  /** Wait for a listening TCP port in the namespace, at most `seconds`. */
  ready?: { tcpPort: number; seconds: number };
}

export type Launched =
  | { state: "running" | "ready" | "not-ready"; pid: number; startTime: string }
  | { state: "exited"; pid: number; exitCode: number };

/** Starts the command as described above; how it went. */
export async function launch(s: LaunchSpec): Promise<Launched> {
  if (currentHost()) await exec(["mkdir", "-p", "-m", "700", "--", path.dirname(s.logPath)]);
  else fs.mkdirSync(path.dirname(s.logPath), { recursive: true, mode: 0o700 });
  const seconds = s.ready?.seconds ?? SETTLE_SECONDS;
  const argv = ["bash", "-c", LAUNCHER, "nslab-launcher", s.logPath, s.netns, s.cwd ?? "", s.ready ? String(s.ready.tcpPort) : "", String(Math.ceil(seconds / TICK)), ...s.env, ...s.command];
  const { stdout } = await exec(argv);
  const lines = stdout.split("\n");
  const field = (key: string) => lines.find((l) => l === key || l.startsWith(`${key} `))?.slice(key.length + 1);
  const pid = Number(field("pid"));
  const exit = field("exit");
  if (exit !== undefined) return { state: "exited", pid, exitCode: Number(exit) };
  const startTime = startTimeOf(field("stat") ?? "");
  return { state: field("ready") !== undefined ? "ready" : s.ready ? "not-ready" : "running", pid, startTime };
}

/** Field 22 of /proc/PID/stat (clock ticks after boot): with the pid, tells one process from a later one. */
function startTimeOf(stat: string): string {
  // The command name (field 2) may hold spaces and parentheses: count after its last ")".
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
}

/** /proc/PID/stat, or undefined when the process is gone or a zombie (ended, not yet reaped). */
function statOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z") ? undefined : stat;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process carries the mark and sees this host's /run: pids are shared by every
 * sandbox on the machine (engine/sandbox.ts: each has its own /run), and the same lab in another
 * sandbox marks its processes alike; /proc/PID/root/run is /run as the process sees it.
 */
function carriesMark(pid: number, mark: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(mark) && fs.statSync(`/proc/${pid}/root/run`).dev === fs.statSync("/run").dev;
  } catch {
    return false;
  }
}

const markOf = (owner: string) => `${OWNER_VARIABLE}=${owner}`;

/** Whether process `pid`, started at `startTime`, is alive and carries owner's mark (never a reused pid). */
export async function isOurs(pid: number, startTime: string, owner: string): Promise<boolean> {
  if (currentHost()) return (await remote("ours", [markOf(owner), String(pid), startTime])) === "ours";
  return isOursHere(pid, startTime, owner);
}

function isOursHere(pid: number, startTime: string, owner: string): boolean {
  const stat = statOf(pid);
  return stat !== undefined && startTimeOf(stat) === startTime && carriesMark(pid, markOf(owner));
}

/** Every live process on this host carrying owner's mark: the one started, what it started, and any a crashed create left. */
export function marked(owner: string): number[] {
  const mark = markOf(owner);
  return fs
    .readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid && statOf(pid) !== undefined && carriesMark(pid, mark));
}

function signal(pid: number, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/**
 * Stops owner's processes: SIGTERM to the process group of `pid` (when it is still ours) and to
 * every process carrying owner's mark, then SIGKILL to those still alive after `graceSeconds`.
 * Resolves once all are gone.
 */
export async function stop(owner: string, graceSeconds: number, leader?: { pid: number; startTime: string }): Promise<void> {
  if (currentHost()) {
    const still = await remote("stop", [markOf(owner), String(leader?.pid ?? ""), leader?.startTime ?? "", String(Math.ceil(graceSeconds / TICK))]);
    if (still) throw new NslabError("BUSY", `processes ${still} are still alive 10 s after SIGKILL (uninterruptible sleep?); delete again later`);
    return;
  }
  const group = leader && isOursHere(leader.pid, leader.startTime, owner) ? leader.pid : undefined;
  const alive = () => [...(group !== undefined && statOf(group) !== undefined ? [group] : []), ...marked(owner)];
  const send = (sig: NodeJS.Signals) => {
    if (group !== undefined) signal(group, sig, true);
    for (const pid of marked(owner)) signal(pid, sig, false);
  };
  if (alive().length === 0) return;
  send("SIGTERM");
  if (await gone(alive, graceSeconds)) return;
  send("SIGKILL");
  if (!(await gone(alive, 10))) {
    throw new NslabError("BUSY", `processes ${alive().join(", ")} are still alive 10 s after SIGKILL (uninterruptible sleep?); delete again later`);
  }
}

async function gone(alive: () => number[], seconds: number): Promise<boolean> {
  for (let waited = 0; alive().length > 0; waited += TICK) {
    if (waited >= seconds) return false;
    await new Promise((r) => setTimeout(r, TICK * 1000));
  }
  return true;
}

/** The last `lines` lines of a log, or "" when there is none. */
export async function logTail(logPath: string, lines = 20): Promise<string> {
  const text = (await readText(logPath).catch(() => undefined)) ?? "";
  return text.replace(/\n$/, "").split("\n").slice(-lines).join("\n");
}

// The remote side of isOurs and stop, one bash each: $1 the mark, $2 the leader's pid ("" none),
// $3 its start time; stop's $4: ticks of grace. `ours P` is isOursHere; `pids` lists the leader
// while ours and every live process carrying the mark (one grep over every environ); stop prints
// the pids still alive when it gives up, nothing when all are gone.
const REMOTE = {
  common: [
    'mark=$1 leader=$2 start=$3',
    'alive() { local s; IFS= read -r s <"/proc/$1/stat" 2>/dev/null || return 1; s=${s##*) }; [ "${s%% *}" != Z ]; }',
    'ours() { local s r; IFS= read -r s <"/proc/$1/stat" 2>/dev/null || return 1; r=(${s##*) }); [ "${r[0]}" != Z ] && [ "${r[19]}" = "$2" ] && grep -qzxF -- "$mark" "/proc/$1/environ" 2>/dev/null; }',
  ],
  ours: ['ours "$leader" "$start" && echo ours', "exit 0"],
  stop: [
    'ticks=$4 group=',
    '[ -n "$leader" ] && ours "$leader" "$start" && group=$leader',
    'pids() { [ -n "$group" ] && alive "$group" && echo "$group"; local f p; for f in $(grep -lzxF -- "$mark" /proc/[0-9]*/environ 2>/dev/null); do p=${f#/proc/}; p=${p%/environ}; alive "$p" && echo "$p"; done; }',
    'send() { [ -n "$group" ] && kill -s "$1" -- "-$group" 2>/dev/null; local p; for p in $(pids); do kill -s "$1" "$p" 2>/dev/null; done; }',
    `gone() { local i; for ((i = 0; i <= $1; i++)); do [ -z "$(pids)" ] && return 0; (( i < $1 )) && sleep ${TICK}; done; return 1; }`,
    '[ -z "$(pids)" ] && exit 0',
    'send TERM; gone "$ticks" && exit 0',
    'send KILL; gone 200 && exit 0',
    'echo $(pids)',
  ],
};

async function remote(script: "ours" | "stop", args: string[]): Promise<string> {
  return (await exec(["bash", "-c", [...REMOTE.common, ...REMOTE[script]].join("\n"), "nslab-process", ...args])).stdout.trim();
}
