import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { exec } from "./exec";
import { currentHost } from "./host";

// The files the driver keeps and looks at on the current host (driver/host.ts): node:fs on the
// provider's machine; on a remote host one small `sh -c` command each through its connection
// (exec.ts), the path and content passed as arguments and stdin, never spliced into the script.
// On this machine the calls are synchronous: the files are small, on tmpfs (/run, /proc), and a
// synchronous call there takes microseconds, where a promise-based one costs a trip through
// libuv's thread pool, whose threads take the cores from the commands in flight (an owner record
// written 2000 times: 210 ms of CPU with node:fs/promises, 23 ms synchronously).

/** A file's text, or undefined when it does not exist. */
export async function readText(file: string): Promise<string | undefined> {
  if (!currentHost()) {
    try {
      return fs.readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }
  // "1" then the content then ".": nothing at all when the file is missing, and no newline lost.
  const { stdout } = await remote('[ -e "$1" ] || exit 0; printf 1; cat -- "$1" && printf .', [file]);
  return stdout === "" ? undefined : stdout.slice(1, -1);
}

/**
 * Writes atomically (write + rename), so a crash never leaves half a file; the directory is made
 * (mode 0700). The temporary file's name does not grow with the target's.
 */
export async function writeText(file: string, content: string): Promise<void> {
  const dir = path.dirname(file);
  if (!currentHost()) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(dir, `.${process.pid}.${randomUUID()}.tmp`);
    fs.writeFileSync(tmp, content, { mode: 0o600 });
    fs.renameSync(tmp, file);
    return;
  }
  await remote('mkdir -p -m 700 -- "$1" && t="$1/.$$.tmp" && (umask 077 && cat >"$t") && mv -f -- "$t" "$2"', [dir, file], content);
}

/** Removes files or directory trees; missing ones are not an error. */
export async function removeFiles(...files: string[]): Promise<void> {
  if (!currentHost()) {
    for (const f of files) fs.rmSync(f, { recursive: true, force: true });
    return;
  }
  await remote('rm -rf -- "$@"', files);
}

/** The names in a directory, or [] when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  if (!currentHost()) {
    try {
      return fs.readdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }
  const { stdout } = await remote('cd -- "$1" 2>/dev/null || exit 0; ls -A', [dir]);
  return stdout.split("\n").filter(Boolean);
}

/** `<inode>@<ctime in ns>` of a file, or undefined when it does not exist. */
export async function fileIdentity(file: string): Promise<string | undefined> {
  if (!currentHost()) {
    try {
      const st = fs.statSync(file, { bigint: true });
      return `${st.ino}@${st.ctimeNs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }
  // %.9Z: seconds, a point, 9 digits of nanoseconds; without the point, the same number as ctimeNs.
  const { stdout } = await remote('[ -e "$1" ] || exit 0; stat -L -c %i@%.9Z -- "$1"', [file]);
  return stdout === "" ? undefined : stdout.replace(".", "");
}

function remote(script: string, args: readonly string[], input?: string) {
  return exec(["sh", "-c", script, "nslab", ...args], input === undefined ? {} : { input });
}
