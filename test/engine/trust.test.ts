import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { run } from "../../engine/deploy";
import { loadProject } from "../../engine/project";
import { journalPath, makeCheckpoint, readState, writeState } from "../../engine/state";
import { FIXTURE, Lab } from "./lab";

// State, locks and paths that cannot be misdirected or jammed: a state file of another project,
// a stack lock released between up's preview and its change, links planted among the state
// files, stack and project names Pulumi refuses, state files that do not parse, a YAML alias bomb.

const test = suite("engine trust");
const lab = new Lab();
test.after(() => lab.cleanup());
const root = path.resolve(__dirname, "../..");

function nslab(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", path.join(root, "engine/cli.ts"), ...args], { cwd: root, encoding: "utf8" });
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  assert.unreachable("expected a rejection");
  return "";
}

test("a state file of another project or stack is refused with both names (T11)", async () => {
  const lab = new Lab();
  const foreign = { urn: "urn:pulumi:dev::other::pulumi-nodejs:dynamic/test:Rec::a", custom: true, id: "a", type: "pulumi-nodejs:dynamic/test:Rec", inputs: {}, outputs: {} };
  writeState(lab.stateFile, makeCheckpoint([foreign]));
  const message = await rejection(lab.run("up", []));
  assert.match(message, /belongs to project "other", stack "dev", not to project "recorder", stack "dev"/);
  assert.ok(message.includes(lab.stateFile));
  assert.is(readState(lab.stateFile)!.deployment.resources.length, 1, "nothing was deleted");
  lab.cleanup();
});

test("up holds the stack lock from its preview to the end of its change (T12)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-lockprog-"));
  const log = path.join(dir, "seen");
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: lockprog\nruntime: nodejs\n");
  // The program runs twice (preview, then up): each time it records which lock file it sees.
  fs.writeFileSync(
    path.join(dir, "index.js"),
    `const fs = require("fs"); const st = fs.statSync(process.env.LOCK_FILE, { bigint: true });\n` +
      `fs.appendFileSync(process.env.LOCK_LOG, st.ino + "@" + st.ctimeNs + " " + fs.readFileSync(process.env.LOCK_FILE, "utf8"));\n`,
  );
  const state = path.join(dir, "state");
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "engine/cli.ts"), "up", dir, "--state-dir", state, "--skip-typecheck"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, LOCK_FILE: path.join(state, "dev.lock"), LOCK_LOG: log },
  });
  assert.is(r.status, 0, r.stderr);
  const seen = fs.readFileSync(log, "utf8").trim().split("\n");
  assert.is(seen.length, 2);
  assert.is(seen[0], seen[1], "one lock, never released between the two runs of the program");
  assert.not.ok(fs.existsSync(path.join(state, "dev.lock")), "released at the end");
  fs.rmSync(dir, { recursive: true, force: true });
});

test("state files are not written through links; a state directory others can write is refused (T13)", async () => {
  assert.is((await lab.run("up", [{ name: "a", value: "1" }])).failed, false);
  const victim = path.join(lab.dir, "victim");
  fs.writeFileSync(victim, "precious\n");
  fs.symlinkSync(victim, journalPath(lab.stateFile));
  assert.match(await rejection(lab.run("up", [{ name: "a", value: "2" }])), /dev\.json\.journal is a symbolic link/);
  assert.is(fs.readFileSync(victim, "utf8"), "precious\n", "the journal did not write through the link");
  fs.rmSync(journalPath(lab.stateFile));
  assert.is((await lab.run("destroy")).failed, false);
  fs.symlinkSync(victim, lab.stateFile);
  assert.match(await rejection(lab.run("preview", [])), /is a symbolic link; nslab does not follow links/);
  fs.rmSync(lab.stateFile);
  fs.chmodSync(lab.stateDir, 0o777);
  assert.match(await rejection(lab.run("preview", [])), /can be written by other users \(mode 777/);
  fs.chmodSync(lab.stateDir, 0o700);
});

test("stack and project names follow Pulumi's rules (T14)", async () => {
  for (const stack of ["../../escaped", "a/b", "", "x".repeat(101)]) {
    assert.match(await rejection(run("preview", { dir: FIXTURE, stateDir: lab.stateDir, stack })), /stack name .* is not valid: use 1-100 characters from A-Z a-z 0-9 _ \. -/, stack);
  }
  assert.not.ok(fs.existsSync(path.join(lab.stateDir, "../../escaped.lock")));
  const r = nslab("preview", FIXTURE, "--state-dir", lab.stateDir, "--stack", "a/b");
  assert.is(r.status, 2);
  assert.not.match(r.stderr, /ENOENT/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-names-"));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: a::b\nruntime: nodejs\n");
  assert.throws(() => loadProject(dir, "dev"), /project name "a::b" is not valid/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("an unreadable state names its file; a corrupt journal line before others is refused (T16)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-badstate-"));
  const file = path.join(dir, "dev.json");
  for (const [text, why] of [
    ["", /is not valid JSON/],
    ["{}", /unsupported state version/],
    [`{"version":3}`, /not a state file: it has no deployment.resources list/],
  ] as const) {
    fs.writeFileSync(file, text);
    assert.throws(() => readState(file), (e: Error) => e.message.startsWith(`${file}: `) && why.test(e.message), text);
  }
  fs.rmSync(file);
  fs.mkdirSync(file);
  assert.throws(() => readState(file), (e: Error) => e.message.startsWith(`${file}: `) && /EISDIR/.test(e.message));
  fs.rmdirSync(file);
  const base = writeState(file, makeCheckpoint([]));
  const put = (id: string) => JSON.stringify({ put: [{ urn: `urn:pulumi:dev::p::t::${id}`, custom: true, id, type: "t", inputs: {}, outputs: {} }] });
  fs.writeFileSync(journalPath(file), [JSON.stringify({ base }), put("a"), `{"put": [{"urn`, put("b"), ""].join("\n"));
  assert.throws(() => readState(file), /dev\.json\.journal: line 3 is corrupt \(not JSON\), and 1 line\(s\) after it/);
  // A last line cut short by a kill is still an operation that never started.
  fs.writeFileSync(journalPath(file), [JSON.stringify({ base }), put("a"), `{"put": [{"urn`].join("\n"));
  assert.equal(readState(file)!.deployment.resources.map((r) => r.id), ["a"]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a YAML alias bomb in the stack config is refused (T16)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-bomb-"));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: bomb\nruntime: nodejs\n");
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 5; i++) levels.push(`${"abcde"[i]}: &${"abcde"[i]} [${Array(10).fill(`*${"abcde"[i - 1]}`).join(", ")}]`);
  fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), `config:\n${levels.map((l) => `  ${l}`).join("\n")}\n`);
  assert.throws(() => loadProject(dir, "dev"), /Pulumi\.dev\.yaml: .*[Aa]lias/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
