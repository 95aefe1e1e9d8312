import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { holderRecord } from "../../provider/driver/lock";
import { FIXTURE, Lab, type Spec } from "./lab";

// The state file (docs/engine.md, "The state file": the `pulumi stack export` v3 shape, mode 0600, secrets in
// state form), the stack lock, and the `nslab` command's output contract and exit codes
// (docs/design.md, "The CLI's output contract").

const test = suite("engine state and command");
const lab = new Lab();
test.after(() => lab.cleanup());

const root = path.resolve(__dirname, "../..");
const SECRET = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: '"s3cret"' };

function nslab(...args: string[]) {
  const env = { ...process.env, ENGINE_TEST_LOG: lab.log };
  return spawnSync(process.execPath, ["--import", "tsx", path.join(root, "engine/cli.ts"), ...args], { cwd: root, encoding: "utf8", env });
}

test("state: export v3 shape, mode 0600, Stack first, default provider before its resources, secrets as plaintext", async () => {
  const spec: Spec[] = [
    { name: "a", value: "s3cret", secret: true },
    { name: "b", value: "1", after: "a" },
  ];
  const r = await lab.run("up", spec);
  assert.is(r.failed, false, JSON.stringify(r.diagnostics));
  assert.is(fs.statSync(lab.stateFile).mode & 0o777, 0o600);
  // (the fixture's provider code mentions the sentinel itself, so that is left out)
  const text = fs.readFileSync(lab.stateFile, "utf8").replace(/"__provider": ".*"/g, "");
  assert.not.match(text, /04da6b54-80e4-46f7-96ec-b56ff0331ba9/);
  const { version, deployment } = lab.state();
  assert.is(version, 3);
  assert.is(deployment.manifest.magic, createHash("sha256").update(deployment.manifest.version).digest("hex"));
  const [stack, provider, a, b] = deployment.resources;
  assert.is(deployment.resources.length, 4);
  assert.is(stack!.urn, "urn:pulumi:dev::recorder::pulumi:pulumi:Stack::recorder-dev");
  assert.equal(stack!.outputs, { paths: { a: "/made/a/s3cret", b: "/made/b/1" } });
  assert.is(provider!.urn, "urn:pulumi:dev::recorder::pulumi:providers:pulumi-nodejs::default");
  assert.match(provider!.id!, /^[0-9a-f-]{36}$/);
  for (const r of [a!, b!]) {
    assert.is(r.provider, `${provider!.urn}::${provider!.id}`);
    assert.is(r.parent, stack!.urn);
    assert.is(r.custom, true);
    assert.is(r.type, "pulumi-nodejs:dynamic/test:Rec");
    assert.type(r.outputs.__provider, "string");
  }
  assert.equal(a!.inputs.value, SECRET);
  assert.equal(a!.outputs.value, SECRET, "an output whose input was secret is secret");
  assert.equal(b!.dependencies, [a!.urn]);
  assert.equal(b!.propertyDependencies!.dep, [a!.urn]);
  assert.equal(b!.propertyDependencies!.value, []);
});

test("lock: a run of a locked stack fails; a lock left by a dead process is taken over", async () => {
  const lock = path.join(lab.stateDir, "dev.lock");
  fs.writeFileSync(lock, holderRecord());
  try {
    await lab.run("preview", []);
    assert.unreachable("the locked stack ran");
  } catch (err) {
    assert.match((err as Error).message, /stack dev is locked by a running nslab/);
  } finally {
    fs.rmSync(lock);
  }
  fs.writeFileSync(lock, "999999999\n");
  assert.is((await lab.run("preview", [])).failed, false);
  assert.not.ok(fs.existsSync(lock));
});

test("nslab up --json: one object with steps, changeSummary and outputs; exit 0", () => {
  const spec = JSON.stringify([{ name: "a", value: "2", secret: true }]);
  const r = nslab("up", FIXTURE, "--state-dir", lab.stateDir, "--config", `spec=${spec}`, "--json");
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, any>;
  assert.is(out.operation, "up");
  assert.is(out.stack, "dev");
  assert.equal(out.changeSummary, { same: 0, create: 0, update: 1, replace: 0, delete: 1 });
  const a = out.steps.find((s: any) => s.urn.endsWith("::a"));
  assert.equal(a, { op: "update", urn: "urn:pulumi:dev::recorder::pulumi-nodejs:dynamic/test:Rec::a", type: "pulumi-nodejs:dynamic/test:Rec", diffs: ["value"], diffReasons: ["value"] });
  assert.equal(out.outputs, { paths: { a: "/made/a/2" } });
});

test("nslab preview: a bad input exits 1 naming the resource and the reason; --diff shows old => new", () => {
  const bad = JSON.stringify([{ name: "a", value: "3", fail: "must be even" }]);
  let r = nslab("preview", FIXTURE, "--state-dir", lab.stateDir, "--config", `spec=${bad}`);
  assert.is(r.status, 1);
  assert.match(r.stderr, /error: pulumi-nodejs:dynamic\/test:Rec resource 'a': property fail has a problem: must be even/);
  r = nslab("preview", FIXTURE, "--state-dir", lab.stateDir, "--config", `spec=${JSON.stringify([{ name: "a", value: "4" }])}`, "--diff");
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /~ +update +pulumi-nodejs:dynamic\/test:Rec +a/);
  assert.match(r.stdout, /value: "\[secret\]" => "4"/);
  assert.match(r.stdout, /Resources: 1 to update/);
});

test("nslab: usage errors exit 2", () => {
  assert.is(nslab("up", FIXTURE, "--bogus").status, 2);
  assert.is(nslab("up", FIXTURE, "--parallel", "0").status, 2);
  const r = nslab("destroy", path.join(root, "test"));
  assert.is(r.status, 2);
  assert.match(r.stderr, /is not a Pulumi project \(no Pulumi.yaml\)/);
});

test("nslab --help, -h and help print the commands; COMMAND --help and help COMMAND its options; exit 0", () => {
  for (const args of [["--help"], ["-h"], ["help"]]) {
    const r = nslab(...args);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: nslab sandbox \[DIR\]\n {7}nslab up \[DIR\] \[options\]/);
    assert.match(r.stdout, /\n {2}refresh +read every resource back/);
  }
  for (const args of [["up", "--help"], ["help", "up"], ["up", "-h"]]) {
    const r = nslab(...args);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: nslab up \[DIR\] \[options\]\n/);
    assert.match(r.stdout, /--refresh +read every resource back first/);
    assert.match(r.stdout, /--skip-preview/);
  }
  const graph = nslab("destroy", "--preview");
  assert.is(graph.status, 2);
  assert.match(graph.stderr, /^nslab: --preview is an option of graph, not of destroy\n/);
});

/** A copy of the recorder fixture whose Pulumi.yaml sets `options: refresh: always`. */
function refreshingFixture(): string {
  const dir = path.join(lab.dir, "refreshing");
  fs.cpSync(FIXTURE, dir, { recursive: true });
  fs.appendFileSync(path.join(dir, "Pulumi.yaml"), "options:\n  refresh: always\n");
  return dir;
}

test("refresh prints what it found (gone; changed, old → new), not deletions; up --refresh re-creates what is gone, and options: refresh: always does so unasked (--no-refresh skips it)", () => {
  fs.rmSync(lab.stateFile, { force: true });
  const spec = JSON.stringify([{ name: "a", value: "1" }, { name: "b", value: "1" }, { name: "c", value: "1" }]);
  const args = (dir: string, ...extra: string[]) => [extra[0]!, dir, "--skip-typecheck", "--state-dir", lab.stateDir, "--config", `spec=${spec}`, ...extra.slice(1)];
  assert.is(nslab(...args(FIXTURE, "up")).status, 0);
  const env = { ...process.env, ENGINE_TEST_LOG: lab.log, ENGINE_TEST_GONE: "b", ENGINE_TEST_DRIFT: "a" };
  const run = (...a: string[]) => spawnSync(process.execPath, ["--import", "tsx", path.join(root, "engine/cli.ts"), ...a], { cwd: root, encoding: "utf8", env });

  const preview = run(...args(FIXTURE, "preview", "--refresh"));
  assert.is(preview.status, 0, preview.stderr);
  assert.match(preview.stdout, /^ {2}gone +pulumi-nodejs:dynamic\/test:Rec +b$/m);
  assert.match(preview.stdout, /^ {2}\+ +create +pulumi-nodejs:dynamic\/test:Rec +b$/m);
  assert.match(preview.stdout, /Refresh found: 1 gone, 1 changed, 1 unchanged\nResources: 1 to create, 1 to update, 1 unchanged/);
  assert.equal(lab.names(), ["a", "b", "c"], "preview --refresh writes no state");

  const refresh = run("refresh", FIXTURE, "--state-dir", lab.stateDir);
  assert.is(refresh.status, 0, refresh.stderr);
  assert.equal(refresh.stdout.split("\n").filter((l) => l.startsWith("  ")).sort(), ['  changed  pulumi-nodejs:dynamic/test:Rec  a: value "1" → "drifted"', "  gone     pulumi-nodejs:dynamic/test:Rec  b"].sort());
  assert.match(refresh.stdout, /^Refresh found: 1 gone, 1 changed, 1 unchanged$/m);
  assert.not.match(refresh.stdout, /delete/);
  assert.equal(lab.names(), ["a", "c"]);

  const refreshing = refreshingFixture();
  const noRefresh = nslab(...args(refreshing, "up", "--no-refresh", "--json"));
  assert.is(noRefresh.status, 0, noRefresh.stderr);
  assert.is(JSON.parse(noRefresh.stdout).refreshed, undefined);
  const always = run(...args(refreshing, "up", "--json"));
  assert.is(always.status, 0, always.stderr);
  const out = JSON.parse(always.stdout) as { refreshed: { op: string; urn: string }[]; steps: { op: string; urn: string }[] };
  assert.equal(out.refreshed.filter((s) => s.op === "delete").map((s) => s.urn.split("::").pop()), ["b"]);
  assert.equal(out.steps.filter((s) => s.op === "create" && s.urn.includes("test:Rec")).map((s) => s.urn.split("::").pop()), ["b"]);
  assert.equal(lab.names().sort(), ["a", "b", "c"]);
});

test.run();
