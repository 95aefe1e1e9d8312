import { randomUUID } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";

// nslab's host-wide records under /run/nslab: tmpfs, so they vanish on reboot exactly when the
// kernel objects they describe do. Used where the kernel offers no atomic mark: the intent to
// create a namespace (its lo alias can only be set after `ip netns add`), and Sysctl holders.

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

/** Writes atomically (write + rename), so a crash never leaves half a record. */
export async function writeRecord(kind: string, key: string, content: string): Promise<void> {
  const target = file(kind, key);
  await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const tmp = `${target}.${process.pid}.${randomUUID()}.tmp`;
  await fs.writeFile(tmp, content, { mode: 0o600 });
  await fs.rename(tmp, target);
}

export async function removeRecord(kind: string, key: string): Promise<void> {
  await fs.rm(file(kind, key), { force: true });
}
