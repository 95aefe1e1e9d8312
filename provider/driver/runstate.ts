import { randomUUID } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";

// nslab's host-wide records under /run/nslab: tmpfs, so they vanish on reboot exactly when the
// kernel objects they describe do. Used where the kernel offers no mark that tells one owner
// from another, written before the command that makes the object (a crash after the command
// still leaves the claim): the intent to create a namespace (its lo alias can only be set after
// `ip netns add`), addresses (iproute2 6.1 cannot set an address's protocol) and routes (one
// protocol number for every owner), and Sysctl holders. Records of the objects in a namespace
// live in a directory of that namespace, removed with it.

export const RUN_DIR = "/run/nslab";

function file(kind: string, key: string): string {
  return path.join(RUN_DIR, kind, encodeURIComponent(key));
}

export async function readRecord(kind: string, key: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file(kind, key), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Writes atomically (write + rename), so a crash never leaves half a record. The temporary file's
 * name does not grow with the key, so a key as long as a file name allows (a 255-byte namespace
 * name) can be recorded.
 */
export async function writeRecord(kind: string, key: string, content: string): Promise<void> {
  const target = file(kind, key);
  await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const tmp = path.join(path.dirname(target), `.${process.pid}.${randomUUID()}.tmp`);
  await fs.writeFile(tmp, content, { mode: 0o600 });
  await fs.rename(tmp, target);
}

/** The kind of the records of objects inside namespace `netns` (undefined: the host's). */
export function netnsKind(kind: string, netns: string | undefined): string {
  return path.join(kind, encodeURIComponent(netns ?? "-"));
}

/** The kinds whose records live in a namespace's directory. */
const PER_NETNS = ["addr", "route"];

/** Removes the records of every object inside `netns` (it was deleted, or made anew). */
export async function removeNetnsRecords(netns: string): Promise<void> {
  await Promise.all(PER_NETNS.map((kind) => fs.rm(path.join(RUN_DIR, netnsKind(kind, netns)), { recursive: true, force: true })));
}

export async function removeRecord(kind: string, key: string): Promise<void> {
  await fs.rm(file(kind, key), { force: true });
}
