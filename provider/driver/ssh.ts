import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { NslabError } from "../errors";
import { hostKey, hostLabel, type Host } from "../lib/host";
import { shortHash } from "../lib/names";
import { RUN_DIR } from "./rundir";

// The transport to a remote host (docs/hosts.md): OpenSSH, one multiplexed connection per host
// (ControlMaster) that every command of the host rides as a new session, so a command costs a
// round trip instead of a TCP and key exchange. Each command still is its own ssh client process,
// started by the local spawner (exec.ts) like any command, its argv quoted word by word for the
// remote POSIX shell and run under `env -i`: nothing of the remote login environment reaches it.
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

/**
 * Sessions a host's connection runs at once: sshd's MaxSessions (default 10) counts the master's
 * own and refuses a session beyond it; the others wait here.
 */
const SESSIONS = 8;

/** One word for a POSIX shell: single-quoted, a quote inside as '\'' (everything else is literal there, newlines too). */
export function quoteWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line sshd gives the remote login shell for argv: exactly these words, under a clean environment. */
export function remoteCommand(argv: readonly string[]): string {
  return ["exec", "env", "-i", `PATH=${REMOTE_PATH}`, "LC_ALL=C", ...argv].map(quoteWord).join(" ");
}

/** ssh's options for a host, from its `host` input. */
function options(host: Host): string[] {
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
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly host: Host) {
    fs.mkdirSync(SSH_DIR, { recursive: true, mode: 0o700 });
    this.socket = path.join(SSH_DIR, `${shortHash([hostKey(host)], 12)}-${process.pid}`);
    fs.rmSync(this.socket, { force: true });
    const argv = ["-M", "-S", this.socket, "-o", "ControlPersist=no", ...options(host), host.address, remoteCommand(["sh", "-c", `echo ${READY}; exec cat >/dev/null`])];
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
          this.keepNodeRunning(false);
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

  /** Runs fn in one of the connection's sessions. */
  async session<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= SESSIONS) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** An idle connection must not keep Node running (it ends with Node: its stdin closes). */
  private keepNodeRunning(on: boolean): void {
    for (const h of [this.master, this.master.stdout, this.master.stderr, this.master.stdin] as { ref?(): void; unref?(): void }[]) (on ? h.ref : h.unref)?.call(h);
  }
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
  return ["ssh", "-S", socket, "-o", "ControlMaster=no", ...options(host), host.address, remoteCommand(argv)];
}

/**
 * What runs argv on a host from a terminal (`nslab exec`, `shell`): ssh with nslab's options on a
 * connection of its own, with a pseudo-terminal when `tty`.
 */
export function terminalSshArgv(host: Host, argv: readonly string[], tty: boolean): string[] {
  return ["ssh", tty ? "-t" : "-T", ...options(host), host.address, remoteCommand(argv)];
}

/** ssh's own failures (exit 255 with one of these, or with nothing), as against a remote command that exits 255 and says why. */
const SSH_FAILED = /^(ssh: |mux_client_|Control ?socket|kex_exchange|Connection (closed|reset|timed out)|Host key verification failed|.*Permission denied \(|channel \d+: open failed|Broken pipe|client_loop: )/m;

/** Runs argv on the host through `run` (the local spawner), in a session of the host's connection. */
export async function runRemote<R extends { exitCode: number; stderr: string }>(host: Host, argv: readonly string[], run: (sshArgv: string[]) => Promise<R>): Promise<R> {
  const c = await connection(host);
  const r = await c.session(() => run(sshArgv(host, c.socket, argv)));
  // ssh says nothing (LogLevel=ERROR) when the host closes the connection under a session.
  if (r.exitCode === 255 && (SSH_FAILED.test(r.stderr) || !r.stderr.trim())) throw unreachable(host, r.stderr.trim() || "the connection closed under the command (ssh exited 255)");
  return r;
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
