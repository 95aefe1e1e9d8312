import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { shown } from "../../engine/output";
import { stderrFilter } from "../../engine/programOutput";
import { loadProject, namespaceConfig, ProjectError } from "../../engine/project";
import { annotateSecrets, applyIgnoreChanges, changedKeys, fromState, toState, UNKNOWN, type Props } from "../../engine/values";

// The engine's pure parts: reading a project like the CLI (Pulumi.yaml, Pulumi.<stack>.yaml,
// --config), and property values (secrets on the wire and in state, ignoreChanges paths).

const test = suite("engine units");
const SIG = "4dabf18193072939515e22adb298388d";
const wireSecret = (value: unknown) => ({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", value }) as Props[string];

const made: string[] = [];
test.after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-project-"));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

test("project: name and main from Pulumi.yaml, stack config namespaced by the project, --config on top", () => {
  const dir = project({
    "Pulumi.yaml": "name: lab\nruntime:\n  name: nodejs\nmain: src/index.ts\n",
    "Pulumi.dev.yaml": "config:\n  lab:size: 3\n  region: north\n  pulumi-nodejs:x: y\n  lab:tags: [a, b]\n",
  });
  const p = loadProject(dir, "dev", { region: "south", "other:k": "v" });
  assert.is(p.name, "lab");
  assert.is(p.main, "src/index.ts");
  assert.equal(p.config, { "lab:size": "3", "lab:region": "south", "pulumi-nodejs:x": "y", "lab:tags": '["a","b"]', "other:k": "v" });
  assert.equal(namespaceConfig(p, "pulumi-nodejs"), { x: "y" });
  assert.equal(loadProject(dir, "prod").config, {});
});

test("project: the entry point defaults to the project's package, else its index file", () => {
  assert.is(loadProject(project({ "Pulumi.yaml": "name: a\nruntime: nodejs\n", "package.json": "{}" }), "dev").main, ".");
  assert.is(loadProject(project({ "Pulumi.yaml": "name: a\nruntime: nodejs\n", "index.ts": "" }), "dev").main, "index.ts");
});

test("project: clear errors for what nslab cannot run", () => {
  assert.throws(() => loadProject(project({}), "dev"), (e: Error) => e instanceof ProjectError && /no Pulumi.yaml/.test(e.message));
  assert.throws(() => loadProject(project({ "Pulumi.yaml": "name: a\nruntime: python\n" }), "dev"), /runtime "python" is not supported/);
  const secure = project({ "Pulumi.yaml": "name: a\nruntime: nodejs\n", "Pulumi.dev.yaml": "config:\n  a:pw:\n    secure: AAAB\n" });
  assert.throws(() => loadProject(secure, "dev"), /config a:pw is encrypted/);
});

test("values: secrets go to state as {sig, plaintext: JSON} and come back", () => {
  const wire: Props = { a: wireSecret({ x: [1, "s"] }), b: "plain" };
  const state = toState(wire);
  assert.equal(state.a, { [SIG]: "1b47061264138c4ac30d75fd1eb44270", plaintext: '{"x":[1,"s"]}' });
  assert.equal(fromState(state), wire);
});

test("values: outputs are secret where their same-named input was, and for additionalSecretOutputs", () => {
  const inputs: Props = { pw: wireSecret("p"), nested: { k: wireSecret("v"), open: 1 }, name: "n" };
  const outputs: Props = { pw: "p", nested: { k: "v", open: 1 }, name: "n", id: "7" };
  assert.equal(annotateSecrets(outputs, inputs, ["id"]), { pw: wireSecret("p"), nested: { k: wireSecret("v"), open: 1 }, name: "n", id: wireSecret("7") });
});

test("values: ignoreChanges resets top-level, nested and indexed paths to the old values", () => {
  const olds: Props = { a: 1, b: { c: 2, d: 3 }, e: [{ f: 4 }], g: 5 };
  const news: Props = { a: 10, b: { c: 20, d: 30 }, e: [{ f: 40 }], h: 6 };
  assert.equal(applyIgnoreChanges(olds, news, ["a", "b.c", "e[0].f", "g"]), { a: 1, b: { c: 2, d: 30 }, e: [{ f: 4 }], h: 6, g: 5 });
  assert.equal(changedKeys({ s: wireSecret("x") }, { s: "x" }), [], "secrets compare by plaintext");
});

test("output: secrets are masked and unknowns named", () => {
  assert.equal(shown({ a: wireSecret("x"), b: UNKNOWN, c: ["ok"] }), { a: "[secret]", b: "[unknown]", c: ["ok"] });
});

// As the runtime printed it after a failed create in a copy of examples/docker-bridge (each of
// its lines ends with a space before the newline; the stack shortened).
const UNDELIVERED_BLOCK = [
  "failed to deliver log message. ",
  "error: Error: Channel has been shut down ",
  "original message: Error: Channel has been shut down",
  "    at InternalChannel.createCall (node_modules/@grpc/grpc-js/src/internal-channel.ts:941:13)",
  "    at ServiceClientImpl.registerResource (node_modules/@grpc/grpc-js/src/make-client.ts:189:15)",
  " message severity: error",
  "",
].join("\n");

test("the program's stderr: the runtime's undelivered-log blocks after nslab stopped it are dropped, in whatever chunks they come; the rest passes by whole lines", () => {
  const text = `the program says\n${UNDELIVERED_BLOCK}${UNDELIVERED_BLOCK}and goes on\nunfinished`;
  for (const size of [1, 7, 64, text.length]) {
    const filter = stderrFilter();
    let out = "";
    for (let i = 0; i < text.length; i += size) out += filter.push(text.slice(i, i + size));
    out += filter.flush();
    assert.is(out, "the program says\nand goes on\nunfinished", `chunks of ${size}`);
  }
});

test.run();
