import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { NslabError } from "../errors";
import { hostKey, hostLabel, type Host } from "../lib/host";
import { shortHash } from "../lib/names";
import { RUN_DIR } from "./rundir";

// The transport to a remote host (docs/hosts.md): OpenSSH, one multiplexed connection per host
// (ControlMaster), and on it one session per host running a small bash (RUNNER) that starts each
// command the provider sends as its own process with its own argv, as the local spawner does
// (exec.ts), and answers each as soon as it ends. A command costs the network's round trip, no
// connection, session or login shell of its own; concurrent commands (the engine runs resources
// in parallel) are in flight together, and the batching of the driver (ip -batch,
// iptables-restore) applies per host as on this machine. The session's command line is quoted word
// by word for the remote POSIX shell and run under `env -i`: nothing of the remote login
// environment reaches the commands.
//
// The master is a child of the provider, started with a remote command that waits on its stdin
// (a pipe from the provider): when the provider ends, however it ends, the pipe closes, the remote
// command ends and the master with it, after its sessions. No ControlPersist: nothing outlives nslab.
//
// Host keys: StrictHostKeyChecking=accept-new against nslab's own known_hosts (on tmpfs, under
// /run/nslab) and the user's ~/.ssh/known_hosts. A lab host's first key is taken without asking
// (BatchMode: nothing may prompt), a key already known must match, a changed key is refused. For
// a lab tool whose hosts are re-installed often, this is what `ssh` itself does on a first
// connection once answered "yes"; whoever needs more pins the keys in ~/.ssh/known_hosts.

/** nslab's ssh directory: control sockets and known_hosts. */
const SSH_DIR = path.join(RUN_DIR, "ssh");
export const KNOWN_HOSTS = path.join(SSH_DIR, "known_hosts");

/** The PATH of remote commands: the system's directories, whatever the login shell's rc files set. */
const REMOTE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** One word for a POSIX shell: single-quoted, a quote inside as '\'' (everything else is literal there, newlines too). */
export function quoteWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line sshd gives the remote login shell for argv: exactly these words, under a clean environment. */
export function remoteCommand(argv: readonly string[]): string {
  return ["exec", "env", "-i", `PATH=${REMOTE_PATH}`, "LC_ALL=C", ...argv].map(quoteWord).join(" ");
}

/** ssh's options for a host, from its `host` input (also for a command that logs in to it, such as a shell). */
export function sshOptions(host: Host): string[] {
  return [
    ...["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", "-o", `UserKnownHostsFile=${KNOWN_HOSTS} ~/.ssh/known_hosts`],
    ...["-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR"],
    ...(host.port ? ["-p", String(host.port)] : []),
    ...(host.user ? ["-l", host.user] : []),
    ...(host.identityFile ? ["-i", host.identityFile, "-o", "IdentitiesOnly=yes"] : []),
  ];
}

const READY = "nslab-ready";

class Connection {
  readonly socket: string;
  readonly ready: Promise<void>;
  ended = false;
  private readonly master: ChildProcess;

  constructor(readonly host: Host) {
    fs.mkdirSync(SSH_DIR, { recursive: true, mode: 0o700 });
    this.socket = path.join(SSH_DIR, `${shortHash([hostKey(host)], 12)}-${process.pid}`);
    fs.rmSync(this.socket, { force: true });
    const argv = ["-M", "-S", this.socket, "-o", "ControlPersist=no", ...sshOptions(host), host.address, remoteCommand(["sh", "-c", `echo ${READY}; exec cat >/dev/null`])];
    // detached: its own session, so a Ctrl-C at the terminal does not cut the connection; nslab decides what stops.
    this.master = spawn("ssh", argv, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    let stderr = "";
    this.master.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    this.master.stdin!.on("error", () => {}); // the exit reports it
    this.ready = new Promise<void>((resolve, reject) => {
      let out = "";
      this.master.stdout!.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        if (out.includes(`${READY}\n`)) {
          unref(this.master);
          resolve();
        }
      });
      const failed = (why: string) => {
        this.ended = true;
        reject(unreachable(host, why));
      };
      this.master.on("error", (err) => failed((err as NodeJS.ErrnoException).code === "ENOENT" ? "ssh: command not found; install it (Debian: apt-get install openssh-client)" : err.message));
      this.master.on("exit", () => failed(stderr.trim() || "the connection ended"));
    });
    this.ready.catch(() => {});
  }
}

/** An idle child must not keep Node running (it ends with Node: its stdin closes). */
function unref(child: ChildProcess): void {
  for (const h of [child, child.stdout, child.stderr, child.stdin] as ({ unref?(): void } | null)[]) h?.unref?.();
}

const connections = new Map<string, Connection>();

/** The host's connection, made when there is none or the last one ended. */
async function connection(host: Host): Promise<Connection> {
  const key = hostKey(host);
  let c = connections.get(key);
  if (!c || c.ended) {
    c = new Connection(host);
    connections.set(key, c);
  }
  await c.ready;
  return c;
}

/** What runs argv on a host: `ssh ... ADDRESS 'exec' 'env' ... 'ARG'...`, through the host's connection. */
export function sshArgv(host: Host, socket: string, argv: readonly string[]): string[] {
  return ["-S", socket, "-o", "ControlMaster=no", ...sshOptions(host), host.address, remoteCommand(argv)];
}

/** ssh's own failures (exit 255 with one of these, or with nothing), as against a remote command that exits 255 and says why. */
const SSH_FAILED = /^(ssh: |mux_client_|Control ?socket|kex_exchange|Connection (closed|reset|timed out)|Host key verification failed|.*Permission denied \(|channel \d+: open failed|Broken pipe|client_loop: )/m;

// The runner's protocol, the local spawner's (exec.ts) over one session. Requests on its stdin,
// NUL-separated: id, argument count, the arguments, 1 and the input, or 0. bash starts each as a
// job with stdout and stderr to files; a job that ends answers, holding a lock on its own opening
// of DIR/lock (flock) so that answers never interleave: `ID EXIT OUTBYTES ERRBYTES`, a newline,
// then the two outputs as they are (they may hold anything, NULs included). A request `k`, ID
// kills the command of job ID (one that did not answer in time). When the provider closes stdin
// (it ends), the runner waits for its jobs and removes its files.
const RUNNER = [
  'for tool in mktemp stat flock cat; do command -v "$tool" >/dev/null || { echo "$tool: command not found on the host; install it (Debian: apt-get install coreutils util-linux)" >&2; exit 127; }; done',
  'dir=$(mktemp -d) || exit 1',
  'trap \'rm -rf "$dir"\' EXIT',
  "while IFS= read -r -d '' id && IFS= read -r -d '' argc; do",
  '  if [ "$id" = k ]; then kill -9 "$(cat "$dir/$argc.pid" 2>/dev/null)" 2>/dev/null; continue; fi',
  '  argv=()',
  "  for ((i = 0; i < argc; i++)); do IFS= read -r -d '' word; argv+=(\"$word\"); done",
  "  IFS= read -r -d '' has",
  '  in=/dev/null',
  "  if [ \"$has\" = 1 ]; then in=$dir/$id.in; IFS= read -r -d '' input; printf %s \"$input\" >\"$in\"; fi",
  '  (',
  '    f=$dir/$id',
  '    "${argv[@]}" <"$in" >"$f.out" 2>"$f.err" &',
  '    echo $! >"$f.pid"',
  '    wait $!',
  '    rc=$?',
  '    set -- $(stat -c %s "$f.out" "$f.err")',
  '    exec 4>>"$dir/lock" && flock 4',
  '    printf "%s %s %s %s\\n" "$id" "$rc" "$1" "$2"',
  '    cat "$f.out" "$f.err"',
  '    exec 4>&-',
  '    rm -f "$f".*',
  '  ) &',
  'done',
  'wait',
].join("\n");

/** What one command printed on the host, and how it ended. */
export interface RemoteResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Killed for not answering in the time given. */
  timedOut: boolean;
}

interface Job {
  resolve: (r: RemoteResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** The time it was given, once it was killed for not answering in it. */
  timedOut?: number;
}

/** A host's runner: one session of its connection, started with the first command and kept while the provider runs. */
class Runner {
  private readonly child: ChildProcess;
  private readonly jobs = new Map<number, Job>();
  private next = 0;
  private buffer = Buffer.alloc(0);
  private stderr = "";
  /** Why it ended; undefined while it runs. */
  private ended: NslabError | undefined;

  constructor(
    private readonly host: Host,
    socket: string,
    private readonly onEnd: () => void,
  ) {
    this.child = spawn("ssh", sshArgv(host, socket, ["bash", "-c", RUNNER, "nslab-runner"]), { stdio: ["pipe", "pipe", "pipe"], detached: true });
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    this.child.stdin!.on("error", () => {}); // the exit reports it
    this.child.stdout!.on("data", (chunk: Buffer) => this.onData(chunk));
    this.child.on("error", () => this.onExit(255));
    this.child.on("close", (code) => this.onExit(code ?? 255));
    unref(this.child);
  }

  run(argv: readonly string[], input: string | undefined, timeoutMs: number): Promise<RemoteResult> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, timer: setTimeout(() => this.timeOut(id, timeoutMs), timeoutMs) });
      if (this.jobs.size === 1) ref(this.child);
      const words = [String(id), String(argv.length), ...argv, ...(input === undefined ? ["0"] : ["1", input])];
      this.child.stdin!.write(words.map((w) => `${w}\0`).join(""));
    });
  }

  private timeOut(id: number, timeoutMs: number): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.timedOut = timeoutMs;
    this.child.stdin!.write(`k\0${id}\0`);
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (let nl = this.buffer.indexOf(10); nl >= 0; nl = this.buffer.indexOf(10)) {
      const [id, exitCode, outBytes, errBytes] = this.buffer.subarray(0, nl).toString().split(" ").map(Number) as [number, number, number, number];
      const end = nl + 1 + outBytes + errBytes;
      if (this.buffer.length < end) return;
      const text = (from: number, to: number) => this.buffer.subarray(from, to).toString("utf8").replace(/\n$/, "");
      const job = this.jobs.get(id);
      const stderr = job?.timedOut ? `no answer within ${job.timedOut / 1000} s: killed` : text(nl + 1 + outBytes, end);
      const result = { stdout: text(nl + 1, nl + 1 + outBytes), stderr, exitCode, timedOut: job?.timedOut !== undefined };
      this.buffer = this.buffer.subarray(end);
      if (job) clearTimeout(job.timer);
      job?.resolve(result);
      this.jobs.delete(id);
      if (this.jobs.size === 0) unref(this.child);
    }
  }

  /** The session ended (the host went away, or the provider is ending): the commands it had not answered fail. */
  private onExit(exitCode: number): void {
    if (this.ended) return;
    const stderr = this.stderr.trim();
    this.ended =
      exitCode === 255 && (SSH_FAILED.test(stderr) || !stderr)
        ? unreachable(this.host, stderr || "the connection closed under the command (ssh exited 255)")
        : new NslabError(exitCode === 127 ? "UNSUPPORTED" : "COMMAND_FAILED", `host ${hostLabel(this.host)}: nslab's command runner there (bash) ended with exit ${exitCode}: ${stderr || "(no stderr)"}`);
    this.onEnd();
    for (const job of this.jobs.values()) {
      clearTimeout(job.timer);
      job.reject(this.ended);
    }
    this.jobs.clear();
  }
}

function ref(child: ChildProcess): void {
  for (const h of [child, child.stdout, child.stderr, child.stdin] as ({ ref?(): void } | null)[]) h?.ref?.();
}

/** Each host's runner, from its start until it ends or fails to start (then the next command starts another). */
const runners = new Map<string, Promise<Runner>>();

/** Runs argv on the host (never through a shell there) through the host's runner; kills it after timeoutMs. */
export async function runRemote(host: Host, argv: readonly string[], input: string | undefined, timeoutMs: number): Promise<RemoteResult> {
  const key = hostKey(host);
  let starting = runners.get(key);
  if (!starting) {
    const forget = () => runners.get(key) === starting && runners.delete(key);
    starting = connection(host).then((c) => new Runner(host, c.socket, forget));
    starting.catch(forget);
    runners.set(key, starting);
  }
  return (await starting).run(argv, input, timeoutMs);
}

/** The error of a host ssh cannot reach: the host, ssh's words, and what to check. */
export function unreachable(host: Host, why: string): NslabError {
  const login = ["ssh", ...(host.identityFile ? ["-i", host.identityFile] : []), ...(host.port ? ["-p", String(host.port)] : []), `${host.user ? `${host.user}@` : ""}${host.address}`, "true"].join(" ");
  return new NslabError(
    "UNREACHABLE",
    `host ${hostLabel(host)} cannot be reached over ssh: ${why}. Check that the host is up and reachable from here, that sshd listens on port ${host.port ?? 22}, ` +
      `and that this login works without a prompt: ${login} (a host key that changed is refused: remove its line from ${KNOWN_HOSTS}). ` +
      `What was done on other hosts stays done; run up again once the host answers`,
  );
}
