import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { run } from "../../engine/deploy";
import { ProgramProcess } from "../../engine/programProcess";
import { Lab, running, until } from "./lab";

// One program process for up's preview and its update (docs/engine.md, "Running the program"):
// the program (fixtures/warm) records each run: its pid, isDryRun, module state, a global, the
// environment and a config read.

const test = suite("engine warm program");
const lab = new Lab();
test.after(() => lab.cleanup());

const FIXTURE = path.join(__dirname, "fixtures/warm");
const ESM = path.join(FIXTURE, "esm");
const cli = path.resolve(__dirname, "../../engine/cli.ts");
const runsLog = path.join(lab.dir, "runs.jsonl");

interface Run {
  pid: number;
  dryRun: boolean;
  count?: number;
  global?: number;
  env?: string;
  evaluatedAt?: string;
  label?: string;
}

function runs(): Run[] {
  return fs
    .readFileSync(runsLog, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Run);
}

process.env.WARM_TEST_LOG = runsLog;
const up = (dir: string, ...extra: string[]) => spawnSync(process.execPath, ["--import", "tsx", cli, "up", dir, "--skip-typecheck", "--state-dir", path.join(lab.dir, path.basename(dir)), ...extra], { encoding: "utf8" });

test("preview then update in one process: the program evaluated afresh in each, nothing of the preview's run left for the update's, the process gone after", async () => {
  fs.writeFileSync(runsLog, "");
  const program = new ProgramProcess();
  const output: string[] = [];
  const options = { dir: FIXTURE, stateDir: lab.stateDir, typecheck: false, program };
  const preview = await run("preview", { ...options, config: { label: "previewed" }, onOutput: (_, text) => output.push(`preview: ${text}`) });
  const updated = await run("up", { ...options, config: { label: "updated" }, onOutput: (_, text) => output.push(`up: ${text}`) });
  await program.close();
  assert.is(preview.failed, false, JSON.stringify(preview.diagnostics));
  assert.is(updated.failed, false, JSON.stringify(updated.diagnostics));
  assert.equal(updated.outputs?.label, "updated");
  const [first, second] = runs() as [Run, Run];
  assert.is(runs().length, 2, "the program's top level ran once per run");
  assert.is(first.pid, second.pid, "one process");
  assert.equal([first.dryRun, second.dryRun], [true, false]);
  // Module state, a global and the environment start over; the modules are evaluated again; the config is the run's.
  assert.equal([first.count, second.count], [1, 1]);
  assert.equal([first.global, second.global], [1, 1]);
  assert.equal([first.env, second.env], ["+", "+"]);
  assert.is.not(first.evaluatedAt, second.evaluatedAt);
  assert.equal([first.label, second.label], ["previewed", "updated"]);
  assert.equal(output, ["preview: the program ran (preview)\n", "up: the program ran (update)\n"]);
  assert.not.ok(running(first.pid));
  await run("destroy", options);
});

test("nslab up: one process; a program that throws in the preview never runs its update; an ES module program gets a process per run", () => {
  fs.writeFileSync(runsLog, "");
  let r = up(FIXTURE);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /the program ran \(preview\)\n[^]*the program ran \(update\)\n/);
  const [preview, update] = runs() as [Run, Run];
  assert.is(preview.pid, update.pid);

  fs.writeFileSync(runsLog, "");
  r = up(FIXTURE, "--config", "fail=1");
  assert.is(r.status, 1);
  assert.match(r.stderr, /the program failed in preview/);
  assert.equal(
    runs().map((x) => x.dryRun),
    [true],
  );
  assert.not.ok(running(runs()[0]!.pid));

  fs.writeFileSync(runsLog, "");
  r = up(ESM);
  assert.is(r.status, 0, r.stderr);
  const [esmPreview, esmUpdate] = runs() as [Run, Run];
  assert.equal([esmPreview.dryRun, esmUpdate.dryRun], [true, false]);
  assert.is.not(esmPreview.pid, esmUpdate.pid);
  assert.not.ok(running(esmUpdate.pid));
});

test("Ctrl-C during up's preview: the preview's program finishes, no update runs, the program's process ends", async () => {
  fs.writeFileSync(runsLog, "");
  const release = path.join(lab.dir, "release");
  const child = spawn(process.execPath, ["--import", "tsx", cli, "up", FIXTURE, "--skip-typecheck", "--state-dir", lab.stateDir, "--config", `waitFor=${release}`], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  await until(() => fs.readFileSync(runsLog, "utf8").length > 0);
  process.kill(-child.pid!, "SIGINT");
  await until(() => stderr.includes("interrupted"));
  fs.writeFileSync(release, "");
  assert.is(await exited, 1, stderr);
  assert.equal(
    runs().map((x) => x.dryRun),
    [true],
  );
  assert.not.ok(running(runs()[0]!.pid));
});

test.run();
