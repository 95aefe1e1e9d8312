import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SANDBOX_ENV, sandboxArgv, sandboxProblem } from "../engine/sandbox";
import { pulumiMissing, REQUIRE_PULUMI_ENV } from "./helpers/pulumi";

// `npm test`: every test file runs in its own throwaway sandbox (a private network + mount
// namespace, engine/sandbox.ts), so no test can change this machine's own network, and a file
// that leaks cannot break the next. Usage: npm test [-- <substring of a test file path> ...]
//
// `npm run test:unit` (`--unit`): only test/unit, whose tests are pure (no kernel object, no
// process that needs root), each file in its own process but without a sandbox: no build, no
// root, seconds.

const root = path.resolve(__dirname, "..");
const unit = process.argv[2] === "--unit";
const problem = unit ? undefined : sandboxProblem();
if (problem) {
  console.error(`npm test: cannot make the test sandbox: ${problem}`);
  process.exit(1);
}

const filters = process.argv.slice(unit ? 3 : 2);
let files = (fs.readdirSync(path.join(root, unit ? "test/unit" : "test"), { recursive: true }) as string[])
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => path.join(unit ? "test/unit" : "test", f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

// The test/pulumi ring needs the real Pulumi CLI: skipped, with one line saying so, where it is
// missing, unless CI (.ci/run) requires it, where its files then fail on the missing CLI.
const inRing = (f: string) => f.startsWith(path.join("test", "pulumi") + path.sep);
const missing = files.some(inRing) && !process.env[REQUIRE_PULUMI_ENV] ? pulumiMissing() : undefined;
if (missing) {
  console.log(`npm test: skipping the ${files.filter(inRing).length} test files of test/pulumi/: ${missing}`);
  files = files.filter((f) => !inRing(f));
}

interface Outcome {
  file: string;
  ok: boolean;
  seconds: number;
}

function runFile(file: string): Promise<Outcome> {
  const started = Date.now();
  const argv = unit ? [process.execPath, "--import", "tsx", file] : sandboxArgv([process.execPath, "--import", "tsx", "test/harness.ts", file]);
  const env = unit ? process.env : { ...process.env, [SANDBOX_ENV]: "1" };
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: root, env });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => {
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(`\n=== ${file} (${seconds.toFixed(1)} s) ${code === 0 ? "ok" : "FAILED"}\n${output}`);
      resolve({ file, ok: code === 0, seconds });
    });
  });
}

async function main(): Promise<void> {
  const queue = [...files];
  const outcomes: Outcome[] = [];
  const workers = Array.from({ length: Math.min(2, os.availableParallelism()) }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) outcomes.push(await runFile(f));
  });
  await Promise.all(workers);
  const failed = outcomes.filter((o) => !o.ok);
  console.log(`\n${outcomes.length} test files, ${failed.length} failed${failed.length ? ":\n  " + failed.map((o) => o.file).join("\n  ") : ""}`);
  process.exitCode = failed.length || files.length === 0 ? 1 : 0;
}

void main();
