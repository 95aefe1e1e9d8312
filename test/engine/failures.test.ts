import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { run, type Result } from "../../engine/deploy";
import { kernelSnapshot } from "../helpers/snapshot";
import { descendants, ended, FIXTURE, Lab, ops, running, until } from "./lab";

// Failures (docs/engine.md, "Failures"): a program that throws (exit 32, already logged), a feature
// nslab does not serve, a partial create recorded with initErrors, Ctrl-C, and type errors.

const test = suite("engine failures");
const lab = new Lab();
test.after(() => lab.cleanup());

test("a program that throws fails the run with its message and the TypeScript line that threw, and nothing is deleted", async () => {
  await lab.run("up", [{ name: "keep", value: "1" }]);
  const r = await lab.run("up", [{ name: "x", value: "throw" }]);
  assert.is(r.failed, true);
  const errors = r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message).join("\n");
  assert.match(errors, /the program failed at x/);
  // The position in the program's source (Node's source maps of tsx's output), not in tsx's
  // output; without the terminal escapes the runtime colours the stack with.
  const program = path.join(FIXTURE, "index.ts");
  const line = fs.readFileSync(program, "utf8").split("\n").findIndex((l) => l.includes("throw new Error(`the program failed at")) + 1;
  assert.ok(errors.includes(`${program}:${line}:`), `expected ${program}:${line} in:\n${errors}`);
  assert.not.ok(errors.includes("\x1b"), "no terminal escapes");
  assert.equal(lab.calls(), []);
  assert.equal(lab.names(), ["keep"]);
});

test("an unsupported feature (an invoke) fails with a message naming it", async () => {
  const r = await lab.run("up", [{ name: "keep", value: "1" }, { name: "i", value: "invoke" }]);
  assert.is(r.failed, true);
  assert.match(r.diagnostics.map((d) => d.message).join("\n"), /nslab does not support invokes/);
});

test("a partial create is kept in state with initErrors and fails; the next up updates it", async () => {
  let r = await lab.run("up", [{ name: "keep", value: "1" }, { name: "half", value: "1", initFail: true }]);
  assert.is(r.failed, true);
  assert.match(r.diagnostics.map((d) => d.message).join("\n"), /resource 'half': half did not come up/);
  const half = lab.state().deployment.resources.find((s) => s.urn.endsWith("::half"))!;
  assert.equal(half.initErrors, ["half did not come up"]);
  assert.is(half.id, lab.callRecords().find((c) => c.call === "create")!.id);
  assert.is(half.outputs.path, "half");
  r = await lab.run("up", [{ name: "keep", value: "1" }, { name: "half", value: "1" }]);
  assert.is(r.failed, false, JSON.stringify(r.diagnostics));
  assert.equal(ops(r), ["same keep", "update half"]);
  assert.is(lab.state().deployment.resources.find((s) => s.urn.endsWith("::half"))!.initErrors, undefined);
});

/** Runs `f` on a throwaway project `name` whose index.ts is `lines`, without a package.json. */
async function inProject(name: string, lines: string[], f: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nslab-${name}-`));
  try {
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: ${name}\nruntime: nodejs\n`);
    fs.writeFileSync(path.join(dir, "index.ts"), lines.join("\n"));
    await f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("type errors: up runs the program beside the check and changes nothing, neither kernel nor state, showing only them; a preview too; fixed, it runs; typecheck: false runs it anyway, with no warning about its missing package.json", async () => {
  await inProject("typed", [], async (dir) => {
    // A Netns (the kernel) and a resource whose provider records its calls: Check runs as the
    // program registers, whenever tsc ends, so a call recorded proves the program ran beside it.
    const calls = path.join(dir, "calls");
    const program = (typeError: boolean, names: string[]) =>
      fs.writeFileSync(
        path.join(dir, "index.ts"),
        [
          'import * as fs from "fs";',
          'import * as pulumi from "@pulumi/pulumi";',
          'import * as nslab from "nslab";',
          ...(typeError ? ['const count: number = "three";'] : []),
          `const recorded: pulumi.dynamic.ResourceProvider = {`,
          `  check: async (_olds, news) => (fs.appendFileSync(${JSON.stringify(calls)}, \`check \${news.name}\\n\`), { inputs: news }),`,
          `  create: async (inputs) => (fs.appendFileSync(${JSON.stringify(calls)}, \`create \${inputs.name}\\n\`), { id: inputs.name, outs: inputs }),`,
          "};",
          "class Recorded extends pulumi.dynamic.Resource {}",
          ...names.flatMap((name) => [`new Recorded(recorded, "${name}", { name: "${name}" }, undefined);`, `new nslab.Netns("${name}");`]),
          'console.log("the program ran");',
        ].join("\n"),
      );
    const recordedCalls = () => (fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : []);
    const stateFile = path.join(dir, "state", "dev.json");
    const pristine = kernelSnapshot();
    const shown: string[] = [];
    const options = {
      dir,
      stateDir: path.join(dir, "state"),
      onOutput: (_: string, text: string) => void shown.push(text),
      onDiagnostic: (d: { message: string }) => void shown.push(d.message),
      onStep: (s: { urn: string }) => void shown.push(s.urn),
    };
    const typeErrorsOnly = (r: Result) => {
      assert.is(r.failed, true);
      assert.equal(r.steps, []);
      assert.is(r.diagnostics.length, 1);
      assert.match(r.diagnostics[0]!.message, /the program has type errors[^]*index\.ts\(4,7\): error TS2322/);
      assert.equal(shown.splice(0), [r.diagnostics[0]!.message]);
    };

    program(true, ["a"]);
    let r = await run("up", options);
    typeErrorsOnly(r);
    assert.equal(recordedCalls(), ["check a"], "the program ran; nothing was created");
    assert.fixture(kernelSnapshot(), pristine);
    assert.not.ok(fs.existsSync(stateFile), "no state written");
    // A preview runs the program beside the type check too: the type errors are all it shows.
    typeErrorsOnly(await run("preview", options));

    program(false, ["a"]);
    r = await run("up", options);
    assert.is(r.failed, false, JSON.stringify(r.diagnostics));
    assert.equal(r.changeSummary.create, 2);
    assert.match(shown.join(""), /the program ran/);
    shown.length = 0;
    const after = kernelSnapshot();
    assert.match(after, /^a-[0-9a-f]{4}$/m, "the namespace made");
    const state = fs.readFileSync(stateFile);

    // With a change to make, and a resource to create whose Check (and `a`'s Diff) are not changes.
    fs.writeFileSync(calls, "");
    program(true, ["a", "b"]);
    typeErrorsOnly(await run("up", options));
    assert.equal(recordedCalls().sort(), ["check a", "check b"]);
    assert.fixture(kernelSnapshot(), after);
    assert.ok(fs.readFileSync(stateFile).equals(state), "the state file as it was");

    r = await run("up", { ...options, typecheck: false });
    assert.is(r.failed, false, JSON.stringify(r.diagnostics));
    assert.match(shown.join(""), /the program ran/);
    // A lab without a package.json runs as it is: the runtime's warning about it is not passed on.
    assert.equal(r.diagnostics, []);
    assert.is((await run("destroy", options)).failed, false);
    assert.fixture(kernelSnapshot(), pristine);
  });
});

test("a program's own dynamic provider is serialized by the SDK's closure serializer, loaded on its first use: one it cannot serialize fails naming the program's function and file", async () => {
  const program = [
    'import * as crypto from "crypto";',
    'import * as pulumi from "@pulumi/pulumi";',
    'const hash = crypto.createHash("sha256");',
    'const provider: pulumi.dynamic.ResourceProvider = { create: async () => ({ id: hash.digest("hex") }) };',
    "class Hashed extends pulumi.dynamic.Resource {}",
    'new Hashed(provider, "h", {}, undefined);',
  ];
  await inProject("serialized", program, async (dir) => {
    const r = await run("preview", { dir, stateDir: path.join(dir, "state"), typecheck: false });
    assert.is(r.failed, true);
    // The script names come from the V8 debugger, turned on at the serializer's first use: the
    // program's file, loaded before it, is named.
    assert.match(r.diagnostics.map((d) => d.message).join("\n"), /'async\(\)=>\(\{id:hash\.digest\("hex"\)\}\)': index\.ts\(\d+,\d+\): which captured[^]*could not be serialized/);
  });
});

const cli = path.resolve(__dirname, "../../engine/cli.ts");

test("up previews first: a bad input anywhere fails the run with nothing created; --skip-preview creates what comes before it", async () => {
  fs.rmSync(lab.stateFile, { force: true });
  const spec = JSON.stringify([{ name: "first", value: "1" }, { name: "bad", value: "1", fail: "bad is bad" }]);
  const up = (...extra: string[]) => spawnSync(process.execPath, ["--import", "tsx", cli, "up", FIXTURE, ...extra, "--state-dir", lab.stateDir, "--config", `spec=${spec}`], { env: { ...process.env, ENGINE_TEST_LOG: lab.log }, encoding: "utf8" });
  fs.writeFileSync(lab.log, "");
  const r = up();
  assert.is(r.status, 1);
  assert.match(r.stderr, /resource 'bad'.*bad is bad/);
  assert.not.ok(lab.calls().some((c) => c.startsWith("create")), "nothing created");
  assert.not.ok(fs.existsSync(lab.stateFile), "no state written");
  fs.writeFileSync(lab.log, "");
  assert.is(up("--skip-preview").status, 1);
  assert.ok(lab.calls().includes("create first"));
  await lab.run("destroy", []);
});

test("Ctrl-C (SIGINT to the whole process group): the step in flight finishes, no new step starts, state saved, exit 1", async () => {
  fs.rmSync(lab.stateFile);
  const spec = JSON.stringify([{ name: "a", value: "1", slow: 1500 }, { name: "b", value: "1", after: "a" }]);
  fs.writeFileSync(lab.log, "");
  const child = spawn(process.execPath, ["--import", "tsx", cli, "up", FIXTURE, "--skip-preview", "--state-dir", lab.stateDir, "--config", `spec=${spec}`], {
    detached: true,
    env: { ...process.env, ENGINE_TEST_LOG: lab.log },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  while (!lab.calls().includes("create a")) await new Promise((resolve) => setTimeout(resolve, 50));
  process.kill(-child.pid!, "SIGINT");
  assert.is(await exited, 1, stderr);
  assert.match(stderr, /interrupted: finishing the steps in flight/);
  assert.equal(lab.calls(), ["check a", "create a"]);
  assert.equal(lab.names(), ["a"]);
  assert.is(lab.state().deployment.pending_operations, undefined);
  assert.not.ok(fs.existsSync(path.join(lab.stateDir, "dev.lock")));
});

test("a run killed mid-create leaves the operation recorded as pending; the next run warns about it", async () => {
  fs.rmSync(lab.stateFile);
  fs.writeFileSync(lab.log, "");
  const spec = JSON.stringify([{ name: "k", value: "1", slow: 5000 }]);
  const child = spawn(process.execPath, ["--import", "tsx", cli, "up", FIXTURE, "--skip-preview", "--state-dir", lab.stateDir, "--config", `spec=${spec}`], {
    detached: true,
    env: { ...process.env, ENGINE_TEST_LOG: lab.log },
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => child.on("close", resolve));
  while (!lab.calls().includes("create k")) await new Promise((resolve) => setTimeout(resolve, 50));
  process.kill(-child.pid!, "SIGKILL");
  await exited;
  const pending = lab.state().deployment.pending_operations!;
  assert.is(pending.length, 1);
  assert.is(pending[0]!.type, "creating");
  assert.match(pending[0]!.resource.urn, /::k$/);
  const r = await lab.run("preview", [{ name: "k", value: "1" }]);
  assert.match(r.diagnostics.map((d) => d.message).join("\n"), /interrupted while creating urn:.*::k/);
});

/** `nslab up` of the recorder with `spec` (and extra arguments), in its own process group, its stderr collected. */
function startUp(spec: object[], ...extra: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", cli, "up", FIXTURE, "--skip-typecheck", "--state-dir", lab.stateDir, "--config", `spec=${JSON.stringify(spec)}`, ...extra], {
    detached: true,
    env: { ...process.env, ENGINE_TEST_LOG: lab.log },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stderr: "" };
  child.stderr.on("data", (d) => (output.stderr += d));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on("close", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { child, output, exited };
}

const creates = () => lab.calls().filter((c) => c.startsWith("create"));

test("Ctrl-C with --parallel 2: the 2 creates in flight finish and none of the 4 queued behind them starts", async () => {
  fs.rmSync(lab.stateFile, { force: true });
  fs.writeFileSync(lab.log, "");
  const release = path.join(lab.dir, "release-parallel");
  const spec = ["a", "b", "c", "d", "e", "f"].map((name) => ({ name, value: "1", holdUntil: release }));
  const { child, output, exited } = startUp(spec, "--skip-preview", "--parallel", "2");
  await until(() => creates().length === 2);
  process.kill(-child.pid!, "SIGINT");
  await until(() => output.stderr.includes("interrupted: finishing the steps in flight"));
  fs.writeFileSync(release, "");
  assert.is(await exited, 1, output.stderr);
  assert.is(creates().length, 2, lab.calls().join());
  assert.is(lab.names().length, 2);
  assert.is(lab.state().deployment.pending_operations, undefined);
});

test("a second Ctrl-C stops at once: exit 130 with the creates in flight recorded as pending and the lock released; the next up warns once per resource and converges", async () => {
  fs.rmSync(lab.stateFile, { force: true });
  fs.writeFileSync(lab.log, "");
  const release = path.join(lab.dir, "release-twice");
  const spec = [{ name: "keep", value: "1" }, ...["p", "q"].map((name) => ({ name, value: "1", after: "keep", holdUntil: release }))];
  const { child, output, exited } = startUp(spec, "--skip-preview");
  await until(() => creates().length === 3);
  process.kill(-child.pid!, "SIGINT");
  await until(() => output.stderr.includes("Ctrl-C again"));
  process.kill(-child.pid!, "SIGINT");
  assert.is(await exited, 130, output.stderr);
  assert.equal(lab.names(), ["keep"]);
  assert.equal(lab.state().deployment.pending_operations!.map((p) => `${p.type} ${p.resource.urn.split("::").pop()}`).sort(), ["creating p", "creating q"]);
  assert.not.ok(fs.existsSync(path.join(lab.stateDir, "dev.lock")));
  fs.writeFileSync(release, "");
  const again = spawnSync(process.execPath, ["--import", "tsx", cli, "up", FIXTURE, "--skip-typecheck", "--state-dir", lab.stateDir, "--config", `spec=${JSON.stringify(spec)}`], { env: { ...process.env, ENGINE_TEST_LOG: lab.log }, encoding: "utf8" });
  assert.is(again.status, 0, again.stderr);
  for (const name of ["p", "q"]) assert.is(again.stdout.split("\n").filter((l) => l.includes(`interrupted while creating`) && l.endsWith(`::${name}; check it by hand or run refresh`)).length, 1, again.stdout);
  assert.equal(lab.names().sort(), ["keep", "p", "q"]);
});

test("SIGKILL of nslab alone: the program it started exits too", async () => {
  fs.rmSync(lab.stateFile, { force: true });
  fs.writeFileSync(lab.log, "");
  const { child, exited } = startUp([{ name: "k", value: "1", holdUntil: path.join(lab.dir, "never") }], "--skip-preview");
  await until(() => creates().length === 1);
  const children = descendants(child.pid!);
  const caller = lab.callRecords().find((c) => c.call === "create")!.pid!;
  // Dynamic providers are called in nslab's own process (docs/engine.md).
  const stop = () => process.kill(child.pid!, "SIGKILL");
  if (caller !== child.pid) stop();
  assert.is(caller, child.pid, "the provider's create runs in nslab's process");
  assert.ok(children.length >= 1, "the program");
  stop();
  await exited;
  await ended(children);
  assert.not.ok(children.some(running));
});

test("duplicate resource names are refused before anything is created, with the engine's message", () => {
  fs.rmSync(lab.stateFile, { force: true });
  fs.writeFileSync(lab.log, "");
  const spec = JSON.stringify([{ name: "x", value: "1" }, { name: "x", value: "2" }]);
  const r = spawnSync(process.execPath, ["--import", "tsx", cli, "up", FIXTURE, "--skip-typecheck", "--state-dir", lab.stateDir, "--config", `spec=${spec}`], { env: { ...process.env, ENGINE_TEST_LOG: lab.log }, encoding: "utf8" });
  assert.is(r.status, 1);
  assert.match(r.stderr, /Duplicate resource URN 'urn:pulumi:dev::recorder::pulumi-nodejs:dynamic\/test:Rec::x'; try giving it a unique name/);
  assert.equal(creates(), []);
  assert.not.ok(fs.existsSync(lab.stateFile));
});

test("in a network namespace whose loopback is down, up says so and what to do, and creates nothing", () => {
  fs.rmSync(lab.stateFile, { force: true });
  fs.writeFileSync(lab.log, "");
  spawnSync("ip", ["netns", "add", "nslab-lo-down"]);
  try {
    const spec = JSON.stringify([{ name: "x", value: "1" }]);
    const argv = ["netns", "exec", "nslab-lo-down", process.execPath, "--import", "tsx", cli, "up", FIXTURE, "--skip-typecheck", "--state-dir", lab.stateDir, "--config", `spec=${spec}`];
    const r = spawnSync("ip", argv, { env: { ...process.env, ENGINE_TEST_LOG: lab.log }, encoding: "utf8" });
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, /the program cannot reach nslab at 127\.0\.0\.1:\d+ \(ENETUNREACH\): the loopback interface of this network namespace is down; bring it up with `ip link set lo up`/);
    assert.equal(creates(), []);
  } finally {
    spawnSync("ip", ["netns", "del", "nslab-lo-down"]);
  }
});

test.run();
