import { spawn, type SpawnOptions } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// One way of building and tearing down the star lab (bench/star/lab.ts), as timed by run.ts.

/** Tears down what `up` made. */
export type Teardown = () => Promise<void>;

export interface Method {
  readonly name: string;
  /** Builds the star of n namespaces (work: a directory of this run's own); resolves with its teardown. */
  up(n: number, work: string): Promise<Teardown>;
  /** Untimed, before the first run: what the first run would otherwise pay once (caches). */
  warmUp?(work: string): Promise<void>;
}

/** Runs fn on every item, at most `limit` at a time; rejects with the first failure. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Runs a command without blocking (the bench watches /run/netns meanwhile); resolves with its
 * output once it exited 0, rejects with its argv, exit code, stderr, the lines of stdout that
 * `failing` picks (else its tail) and the file in `work` (else the temporary directory) that keeps
 * all it printed otherwise.
 */
export function runCommand(file: string, argv: string[], options: Pick<SpawnOptions, "cwd" | "env"> & { work?: string; failing?: (line: string) => boolean }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d));
    child.stderr!.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) return resolve(stdout);
      const kept = path.join(options.work ?? os.tmpdir(), `${path.basename(file)}-${Date.now()}.out`);
      fs.writeFileSync(kept, `${file} ${argv.join(" ")}\nexit ${code}\n--- stderr\n${stderr}\n--- stdout\n${stdout}`);
      const picked = options.failing ? stdout.split("\n").filter(options.failing).join("\n") : "";
      reject(new Error(`${path.basename(file)} ${argv.join(" ")} exited ${code} (all it printed: ${kept}):\n${stderr.trimEnd()}\n${picked || stdout.slice(-2000)}`));
    });
  });
}
