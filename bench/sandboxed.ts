import { spawnSync } from "node:child_process";
import { SANDBOX_ENV, sandboxArgv, sandboxProblem } from "../engine/sandbox";

// A benchmark entry runs its measurement in a throwaway sandbox (engine/sandbox.ts): it
// re-executes itself into one, unless it already runs inside one (npm test's, or its own).

/** Runs `main` when inside a sandbox, else re-executes `file` with the same arguments in one. */
export function sandboxed(file: string, main: () => Promise<void>): void {
  if (process.env[SANDBOX_ENV] === "1") {
    main().catch((err: Error) => {
      console.error(`bench: ${err.message}`);
      process.exitCode = 1;
    });
    return;
  }
  const problem = sandboxProblem();
  if (problem) {
    console.error(`bench: ${problem}`);
    process.exit(1);
  }
  const argv = sandboxArgv([process.execPath, "--import", "tsx", file, ...process.argv.slice(2)]);
  process.exitCode = spawnSync(argv[0]!, argv.slice(1), { stdio: "inherit", env: { ...process.env, [SANDBOX_ENV]: "1" } }).status ?? 1;
}
