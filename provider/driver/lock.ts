import * as fs from "node:fs/promises";
import * as path from "node:path";
import { RUN_DIR } from "./runstate";

// A host-wide lock for read-modify-write sections that several provider processes (two stacks,
// two hosts of one engine) may run at once: the jump rules in built-in iptables chains (an
// unprotected `-C || -A` leaves duplicates, docs/kernel-facts.md, C3), nslab's shared chains, and the
// Sysctl holder registry. mkdir is atomic; the holder's pid is recorded so that a lock left by a
// killed process is taken over instead of waited on forever.

const queues = new Map<string, Promise<unknown>>();

/** Runs fn while holding the host-wide lock `name` (serialised in-process first, then across processes). */
export function withHostLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(name) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(() => holding(name, fn));
  queues.set(name, next);
  void next.finally(() => {
    if (queues.get(name) === next) queues.delete(name);
  }).catch(() => undefined);
  return next;
}

async function holding<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = path.join(RUN_DIR, "locks", `${name}.lock`);
  await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.mkdir(dir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (await holderIsDead(dir)) {
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, Math.min(2 + attempt, 20)));
    }
  }
  try {
    await fs.writeFile(path.join(dir, "pid"), String(process.pid));
    return await fn();
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function holderIsDead(dir: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(await fs.readFile(path.join(dir, "pid"), "utf8"));
  } catch {
    // Created but the pid not written yet (or being removed): alive unless it stays so.
    const age = await fs.stat(dir).then((s) => Date.now() - s.mtimeMs, () => 0);
    return age > 5000;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
