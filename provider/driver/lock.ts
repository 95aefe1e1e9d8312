import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { NslabError } from "../errors";
import { hostKey } from "../lib/host";
import { shortHash } from "../lib/names";
import { currentHost } from "./host";
import { RUN_DIR } from "./rundir";

// Lock files: the host-wide locks of read-modify-write sections that several provider processes
// (two stacks, two hosts of one engine) may run at once (the jump rules in built-in iptables
// chains: an unprotected `-C || -A` leaves duplicates, docs/kernel-facts.md, C3; nslab's shared
// chains; the Sysctl holder registry), and the engine's stack lock.
// A lock file is created whole or not at all (written under a temporary name, then hard-linked
// to its name, which fails when it exists), so no reader ever sees it empty. It names its holder
// by pid, the process's start time and its PID namespace: a pid reused by an unrelated process,
// or a file that names no holder, is not mistaken for a live holder.
// A remote host's locks are files of this machine too, one directory per host: they serialise
// every nslab on this machine that works on the host, which is what a program describing its
// hosts runs (docs/hosts.md); two machines driving one lab host at once are not serialised.

/** This process as a lock holder: `<pid> <start time> <pid namespace>`. */
export function holderRecord(): string {
  return `${process.pid} ${processStart(process.pid)} ${pidNamespace()}\n`;
}

/**
 * Whether the holder a lock file names is running: "dead" also for a file that names no holder
 * (empty, garbage); "unknown" for a holder in another PID namespace, whose pids mean nothing here.
 */
export function holderState(record: string): "alive" | "dead" | "unknown" {
  const m = /^(\d+) (\d+) (\d+)\n$/.exec(record);
  if (!m) return "dead";
  if (m[3] !== pidNamespace()) return "unknown";
  return processStart(Number(m[1])) === m[2] ? "alive" : "dead";
}

/** Creates `file` holding this process's record; false when it exists. */
export function createLockFile(file: string): boolean {
  const tmp = path.join(path.dirname(file), `.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  fs.writeFileSync(tmp, holderRecord(), { flag: "wx", mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** A lock file's record, or undefined when the file is gone. */
export function readLockFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The start time of a process (clock ticks since boot, /proc/PID/stat field 22), or undefined when there is none. */
function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

let ownNamespace: string | undefined;

/** The inode of this process's PID namespace. */
export function pidNamespace(): string {
  return (ownNamespace ??= /\[(\d+)\]/.exec(fs.readlinkSync("/proc/self/ns/pid"))?.[1] ?? "0");
}

const queues = new Map<string, Promise<unknown>>();

/** How long a host lock is waited for before the wait fails, naming its holder. */
const WAIT_MS = 60_000;

/** Runs fn while holding the current host's lock `name` (serialised in-process first, then across processes). */
export function withHostLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  const host = currentHost();
  const name = host ? path.join(`host-${shortHash([hostKey(host)], 16)}`, lock) : lock;
  const prev = queues.get(name) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(() => holding(name, fn));
  queues.set(name, next);
  void next.finally(() => {
    if (queues.get(name) === next) queues.delete(name);
  }).catch(() => undefined);
  return next;
}

async function holding<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const file = path.join(RUN_DIR, "locks", name);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const started = Date.now();
  for (let attempt = 0; !createLockFile(file); attempt++) {
    const record = readLockFile(file);
    if (record === undefined) continue;
    if (holderState(record) === "dead") {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() - started > WAIT_MS) {
      throw new NslabError(
        "LOCKED",
        `the host lock ${file} has been held for over ${WAIT_MS / 1000} s by process ${record.split(" ")[0]} (${record.trim()}). ` +
          `If no nslab is running (on this host or in another PID namespace sharing /run/nslab), remove the file and retry`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(2 + attempt, 20)));
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
