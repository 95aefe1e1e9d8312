import * as path from "node:path";
import { readText, removeFiles, writeText } from "./files";
import { RUN_DIR } from "./rundir";

// nslab's host-wide records under /run/nslab: tmpfs, so they vanish on reboot exactly when the
// kernel objects they describe do. Used where the kernel offers no mark that tells one owner
// from another, written before the command that makes the object (a crash after the command
// still leaves the claim): the intent to create a namespace (its lo alias can only be set after
// `ip netns add`), addresses (iproute2 6.1 cannot set an address's protocol) and routes (one
// protocol number for every owner), and Sysctl holders. Records of the objects in a namespace
// live in a directory of that namespace, removed with it. Each host keeps its own records: on a
// remote host they are its /run/nslab (driver/files.ts).

export { RUN_DIR } from "./rundir";

function file(kind: string, key: string): string {
  return path.join(RUN_DIR, kind, encodeURIComponent(key));
}

export function readRecord(kind: string, key: string): Promise<string | undefined> {
  return readText(file(kind, key));
}

/**
 * Writes atomically (files.ts), so a crash never leaves half a record, also for a key as long as
 * a file name allows (a 255-byte namespace name).
 */
export function writeRecord(kind: string, key: string, content: string): Promise<void> {
  return writeText(file(kind, key), content);
}

/** The kind of the records of objects inside namespace `netns` (undefined: the host's). */
export function netnsKind(kind: string, netns: string | undefined): string {
  return path.join(kind, encodeURIComponent(netns ?? "-"));
}

/** The kinds whose records live in a namespace's directory. */
const PER_NETNS = ["addr", "route"];

/** Removes the records of every object inside `netns` (it was deleted, or made anew). */
export async function removeNetnsRecords(netns: string): Promise<void> {
  await removeFiles(...PER_NETNS.map((kind) => path.join(RUN_DIR, netnsKind(kind, netns))));
}

export function removeRecord(kind: string, key: string): Promise<void> {
  return removeFiles(file(kind, key));
}
