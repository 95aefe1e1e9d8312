import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { SANDBOX_ENV, sandboxArgv, sandboxProblem } from "../engine/sandbox";

// A benchmark entry runs its measurement in a throwaway sandbox (engine/sandbox.ts). The npm
// scripts start each entry through this file (`node --import tsx bench/sandboxed.ts FILE ARGS`),
// which enters the sandbox before FILE loads anything: FILE's imports include test helpers that
// refuse to load outside one (test/helpers/sandboxed.ts).

/** Re-executes `file` with `args` in a sandbox; the exit status is its. */
function inSandbox(file: string, args: string[]): void {
  const problem = sandboxProblem();
  if (problem) {
    console.error(`bench: ${problem}`);
    process.exit(1);
  }
  const argv = sandboxArgv([process.execPath, "--import", "tsx", file, ...args]);
  process.exitCode = spawnSync(argv[0]!, argv.slice(1), { stdio: "inherit", env: { ...process.env, [SANDBOX_ENV]: "1" } }).status ?? 1;
}

/**
 * A bench entry with options: parses them (a bad one exits 2 with its message and `usage`), then
 * runs `main` with them in a sandbox.
 */
export function benchMain<A>(file: string, usage: string, parse: (argv: string[]) => A, main: (args: A) => Promise<void>): void {
  let args: A;
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  sandboxed(file, () => main(args));
}

/** Runs `main` when inside a sandbox (npm test's, or the one entered below), else re-executes `file` in one. */
export function sandboxed(file: string, main: () => Promise<void>): void {
  if (process.env[SANDBOX_ENV] !== "1") {
    inSandbox(file, process.argv.slice(2));
    return;
  }
  main().catch((err: Error) => {
    console.error(`bench: ${err.message}`);
    process.exitCode = 1;
  });
}

if (require.main === module) {
  const [file, ...args] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node --import tsx bench/sandboxed.ts FILE [ARGS...]");
    process.exit(2);
  }
  if (process.env[SANDBOX_ENV] === "1") require(path.resolve(file));
  else inSandbox(path.resolve(file), args);
}
