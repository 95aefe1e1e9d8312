import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CommandError, NslabError } from "../errors";
import type { Host } from "../lib/host";
import { classify, DUMP_INTERRUPTED, toolOf } from "./classify";
import { currentHost } from "./host";
import { pidNamespace } from "./lock";
import { runRemote } from "./ssh";

// The only file that spawns processes. execa is ESM-only: it is loaded with a real dynamic
// import() at call time (tsconfig `module: nodenext` keeps it un-lowered), never statically,
// so neither tsx nor Pulumi's closure serializer ever sees it (docs/design.md, "The serialized provider is a thin shim").
//
// Commands are started by one small long-lived bash (the "spawner", itself started with execa)
// rather than by Node: starting a process copies the page tables of the process that starts it,
// and from the provider host (a Node process of ~300 MB) that costs ~2.4 ms of its one thread per
// command; through the spawner ~0.15 ms, and a command is answered in half the time (measured:
// 400 `ip link show`, 8 at a time, 3.1 against 1.3 ms each). Each command still is its own process
// with its own argv (never a shell line): bash only forks and execs it (and waits, see SPAWNER).
//
// A command of a resource on a remote host (driver/host.ts) runs there, through ssh (driver/ssh.ts,
// which with this file is the only one that starts processes).

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the command's stdin (ip -batch, iptables-restore). */
  input?: string;
}

/** Called before every command (with its host, undefined for this machine); a test throws from it to inject a fault at the Nth command. */
export type CommandHook = (argv: readonly string[], index: number, host: Host | undefined) => void;

let hook: CommandHook | undefined;
let count = 0;

/** Installs (or, with undefined, removes) the fault-injection hook used by the crash tests. */
export function setCommandHook(h: CommandHook | undefined): void {
  hook = h;
  count = 0;
}

type ProcessHook = (argv: readonly string[], input: string | undefined, host: Host | undefined) => void;
let processHook: ProcessHook | undefined;

/** Installs (or removes) an observer of every process started, for tests of batching. */
export function setProcessHook(h: ProcessHook | undefined): void {
  processHook = h;
}

/** Counts a command and lets the fault-injection hook see it (batch.ts counts its lines). */
export function beforeCommand(argv: readonly string[]): void {
  hook?.(argv, count++, currentHost());
}

const RETRIES = 8;

/** What one run of a command printed, and how it ended. */
export interface RunResult extends ExecResult {
  /** 128+N when killed by signal N. */
  exitCode: number;
  /** ENOENT when the program is not installed. */
  code?: "ENOENT";
  timedOut: boolean;
}

const TIMEOUT_MS = 120_000;

/** Runs argv once (never through a shell) on the current host, uncounted, whatever its exit code. */
export async function runOnce(argv: readonly string[], input?: string): Promise<RunResult> {
  if (!argv[0]) throw new Error("exec: empty argv");
  const host = currentHost();
  processHook?.(argv, input, host);
  const r = host ? await runRemote(host, argv, input, TIMEOUT_MS) : await (await currentSpawner()).run(argv, input);
  // bash's words for a program it cannot find: `nslab-spawner: line N: ip: command not found`.
  const missing = r.exitCode === 127 && /: command not found$/.test(r.stderr);
  return { ...r, ...(missing ? { code: "ENOENT" as const } : {}) };
}

// The spawner's protocol. Node writes a request per command on bash's stdin, NUL-separated so
// that any argv word passes unchanged: id, argument count, the arguments, and 1 when the command
// reads DIR/ID.in on stdin. For each, bash starts a job that runs the command with stdout and
// stderr to DIR/ID.out and DIR/ID.err and reports `ID pid P` (so a timeout can kill it), then
// `ID exit STATUS` once both files are complete; these lines are short enough to be written
// atomically by concurrent jobs. bash ends, and removes DIR, when Node closes its stdin.
//
// The job is a subshell that forks the command and waits for that one pid: two forks a command
// where one would do (measured: 1000 `true` from a bash loop, 0.70 s of CPU against 0.29 s; and
// a subshell of ~3.5 MB resident per command in flight). One fork would need the main loop to
// block in `wait -n` (the only wait for any child) and bash 5.2 cannot do that without hanging or
// losing reports: `wait -n` sleeps through a job that ends just as it starts to wait (it looks for
// ended jobs, then blocks in waitpid, and SIGCHLD reaps in between: a prototype hung in 3 of 4 runs
// of 3000 commands one at a time); it drops a job killed by a signal when it returns another
// (`bash -c`: every job that ended before it was called); a CHLD trap never runs while bash
// blocks in `read`, so a request must wake it by a trapped signal, which, interrupting `wait`
// just after a child was reaped, loses that child's status for good (and once aborted bash).
// `wait $!` of one pid checks and blocks with SIGCHLD held off: none of these. The subshell's
// stderr is /dev/null: its notice of a command killed by a signal (a timeout) is not nslab's.
const SPAWNER = [
  'dir=$1',
  'trap \'rm -rf "$dir"\' EXIT',
  "trap 'exit 143' TERM HUP INT",
  "while IFS= read -r -d '' id && IFS= read -r -d '' argc; do",
  '  argv=()',
  "  for ((i = 0; i < argc; i++)); do IFS= read -r -d '' word; argv+=(\"$word\"); done",
  "  IFS= read -r -d '' input",
  '  [ "$input" = 1 ] && in="$dir/$id.in" || in=/dev/null',
  '  ( "${argv[@]}" <"$in" >"$dir/$id.out" 2>"$dir/$id.err" & echo "$id pid $!"; wait $!; echo "$id exit $?" ) 2>/dev/null &',
  'done',
  'wait',
].join("\n");

interface Job {
  resolve: (r: RunResult) => void;
  reject: (err: Error) => void;
  pid?: number;
  timedOut: boolean;
  timer: NodeJS.Timeout;
}

interface Subprocess {
  stdin: NodeJS.WritableStream & { ref?(): void; unref?(): void };
  stdout: NodeJS.ReadableStream & { ref?(): void; unref?(): void };
  ref(): void;
  unref(): void;
  on(event: "exit" | "error", listener: (err?: Error) => void): void;
}

class Spawner {
  private readonly jobs = new Map<string, Job>();
  private buffer = "";
  private next = 0;
  ended = false;

  private constructor(
    private readonly child: Subprocess,
    private readonly dir: string,
  ) {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => this.onData(chunk));
    child.stdin.on("error", () => {}); // the exit below reports it
    child.on("exit", () => this.onExit());
    child.on("error", (err) => this.onExit(err));
    this.keepNodeRunning(false);
  }

  static async start(): Promise<Spawner> {
    const { execa } = await import("execa");
    const base = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
    removeOrphans(base);
    const dir = fs.mkdtempSync(path.join(base, `nslab-ns${pidNamespace()}-${process.pid}-`));
    // detached: its own session (setsid), so a Ctrl-C at the terminal, which reaches the whole
    // foreground process group, never reaches bash or the commands in flight: nslab decides what
    // stops. It still ends with the provider host, however that ends: its stdin closes.
    // --norc: Node's pipes are sockets, which bash takes for sshd's, and without SHLVL in the
    // environment (a service, `env -i`) it would run ~/.bashrc first. Without BASH_ENV: a
    // non-interactive bash runs the file it names first.
    const child = execa("bash", ["--norc", "-c", SPAWNER, "nslab-spawner", dir], { stdin: "pipe", stdout: "pipe", stderr: "inherit", buffer: false, reject: false, detached: true, env: { LC_ALL: "C", BASH_ENV: undefined } });
    child.catch(() => {});
    return new Spawner(child as unknown as Subprocess, dir);
  }

  run(argv: readonly string[], input: string | undefined): Promise<RunResult> {
    const id = String(this.next++);
    if (input !== undefined) fs.writeFileSync(this.file(id, "in"), input);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.timeOut(id), TIMEOUT_MS);
      this.jobs.set(id, { resolve, reject, timedOut: false, timer });
      this.keepNodeRunning(true);
      this.child.stdin.write([id, String(argv.length), ...argv, input === undefined ? "0" : "1"].map((w) => `${w}\0`).join(""));
    });
  }

  private file(id: string, kind: "in" | "out" | "err"): string {
    return path.join(this.dir, `${id}.${kind}`);
  }

  private timeOut(id: string): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.timedOut = true;
    if (job.pid) kill(job.pid);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf("\n"); nl >= 0; nl = this.buffer.indexOf("\n")) {
      const [id = "", what, value = ""] = this.buffer.slice(0, nl).split(" ");
      this.buffer = this.buffer.slice(nl + 1);
      const job = this.jobs.get(id);
      if (!job) continue;
      if (what === "pid") job.pid = Number(value);
      else this.finish(id, job, Number(value));
    }
  }

  private finish(id: string, job: Job, exitCode: number): void {
    this.jobs.delete(id);
    clearTimeout(job.timer);
    const take = (kind: "out" | "err") => {
      const text = fs.readFileSync(this.file(id, kind), "utf8");
      fs.rmSync(this.file(id, kind));
      return text.replace(/\n$/, "");
    };
    fs.rmSync(this.file(id, "in"), { force: true });
    const stdout = take("out");
    const stderr = job.timedOut ? `no answer within ${TIMEOUT_MS / 1000} s: killed` : take("err");
    job.resolve({ stdout, stderr, exitCode, timedOut: job.timedOut });
    if (!this.jobs.size) this.keepNodeRunning(false);
  }

  /** bash ended (or could not start): the commands it had not answered fail. */
  private onExit(err?: Error): void {
    this.ended = true;
    const missing = (err as { code?: string } | undefined)?.code === "ENOENT";
    const error = missing
      ? new NslabError("UNSUPPORTED", "nslab starts its commands through bash, which is not installed; install it (Debian: apt-get install bash)")
      : new NslabError("COMMAND_FAILED", `nslab's command spawner (bash) ended before its commands did${err ? `: ${err.message}` : ""}`);
    for (const [id, job] of this.jobs) {
      clearTimeout(job.timer);
      job.reject(error);
      this.jobs.delete(id);
    }
  }

  /** An idle spawner must not keep Node running (it ends with Node: its stdin closes). */
  private keepNodeRunning(on: boolean): void {
    for (const h of [this.child, this.child.stdout, this.child.stdin]) (on ? h.ref : h.unref)?.call(h);
  }
}

/**
 * Removes the directories of spawners whose Node process is gone: bash removes its own when it
 * ends, but not when it is killed with SIGKILL along with Node (a crash test kills a process group).
 * A directory is named by its PID namespace and pid: only those of this PID namespace can be
 * judged here (/dev/shm is shared with processes whose pids mean nothing in this one).
 */
function removeOrphans(base: string): void {
  for (const name of fs.readdirSync(base)) {
    const m = /^nslab-ns(\d+)-(\d+)-/.exec(name);
    if (!m || m[1] !== pidNamespace() || alive(Number(m[2]))) continue;
    fs.rmSync(path.join(base, name), { recursive: true, force: true });
  }
}

/** Sends SIGKILL; a process that has ended meanwhile is not an error. */
function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

let spawning: Promise<Spawner> | undefined;

/** The running spawner; one is started when there is none, and concurrent callers share it. */
async function currentSpawner(): Promise<Spawner> {
  for (;;) {
    const starting = (spawning ??= Spawner.start());
    const s = await starting.catch((err: unknown) => {
      if (spawning === starting) spawning = undefined;
      throw err;
    });
    if (!s.ended) return s;
    if (spawning === starting) spawning = undefined;
  }
}

/**
 * Runs argv (never through a shell) and returns its output, or throws a classified
 * CommandError carrying the argv, exit code and stderr. Retries what is transient: a read whose
 * dump was interrupted by a concurrent change (it exits 0), and the legacy xtables lock.
 */
export async function exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  for (let attempt = 0; ; attempt++) {
    beforeCommand(argv);
    const r = await runOnce(argv, options.input);
    const stderr = r.stderr;
    if (attempt < RETRIES && DUMP_INTERRUPTED.test(stderr)) continue;
    if (r.exitCode === 0) return { stdout: r.stdout, stderr };
    const code = r.code === "ENOENT" ? "UNSUPPORTED" : classify(toolOf(argv), r.exitCode, stderr);
    if (code === "LOCKED" && attempt < RETRIES) {
      await new Promise((res) => setTimeout(res, 50 * 2 ** Math.min(attempt, 5)));
      continue;
    }
    const detail = r.code === "ENOENT" ? notInstalled(argv[0]!) : code === "PERMISSION_DENIED" ? `${stderr.trim()}\n${NOT_ROOT}` : stderr;
    throw new CommandError(code, argv, r.exitCode, detail, { input: options.input });
  }
}

/** What to say when the kernel refuses a change for want of privilege. */
const NOT_ROOT = "nslab changes the kernel's network: run `pulumi up` / `nslab up` as root (sudo -E …) or with CAP_NET_ADMIN and CAP_SYS_ADMIN";

/** What to say when a program is not installed. */
export function notInstalled(file: string): string {
  const pkg = file.startsWith("iptables") ? "iptables" : file === "ip" ? "iproute2" : file;
  return `${file}: command not found; install it (Debian: apt-get install ${pkg})`;
}

/** True when err is a CommandError of one of the codes. */
export function failedWith(err: unknown, ...codes: NslabError["code"][]): boolean {
  return NslabError.is(err) && codes.includes(err.code);
}
