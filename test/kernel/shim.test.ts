import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Kind } from "../../provider/lib/kind";
import { owner, sh } from "../helpers/kernel";

// The serialized provider (docs/design.md, "The serialized provider is a thin shim"): serialize it as the SDK does, load it in a
// separate plain `node` process as the dynamic-provider host does, and drive create/read/delete
// through it against the kernel — from an example directory inside the repo, and from a
// directory outside it with NODE_PATH set (what the nslab engine does for programs elsewhere).

const root = path.resolve(__dirname, "../..");
const serializeFunction: (f: () => unknown, o: object) => Promise<{ text: string }> =
  require("@pulumi/pulumi/runtime/closure/serializeClosure").serializeFunction;

async function serialized(providerFor: (k: Kind) => unknown, kind: Kind): Promise<string> {
  const provider = providerFor(kind);
  return (await serializeFunction(() => provider, { allowSecrets: true })).text;
}

function host(text: string, cwd: string, ops: { op: string; args: unknown[] }[], env: Record<string, string> = {}): { result?: any; error?: string }[] {
  const out = execFileSync(process.execPath, [path.join(root, "test/helpers/host.js")], {
    cwd,
    input: JSON.stringify({ text, ops }),
    encoding: "utf8",
    env: { PATH: process.env.PATH!, NSLAB_REQUIRE_FROM_STRING: require.resolve("require-from-string"), ...env },
  });
  return JSON.parse(out);
}

const test = suite("provider shim");

test("the serialized provider stays under 3 KB and captures nothing but its kind", async () => {
  const fromSource = await serialized(require("../../sdk/internal/shim").providerFor, "Netns");
  const fromPackage = await serialized(require(path.join(root, "node_modules/nslab/dist/sdk/internal/shim.js")).providerFor, "Netns");
  for (const text of [fromSource, fromPackage]) {
    assert.ok(text.length < 3000, `serialized size ${text.length} bytes`);
    assert.match(text, /require\("nslab\/provider"\)/);
    assert.not.match(text, /execa/);
  }
  console.log(`    serialized provider: ${fromSource.length} bytes (from source), ${fromPackage.length} bytes (from the package)`);
});

test("one frozen provider instance per kind", () => {
  const { providerFor } = require("../../sdk/internal/shim");
  assert.is(providerFor("Netns"), providerFor("Netns"));
  assert.ok(Object.isFrozen(providerFor("Netns")));
});

for (const [where, cwd, env] of [
  ["an example directory inside the repo", path.join(root, "examples/two-namespaces"), {}],
  ["a directory outside the repo with NODE_PATH", fs.mkdtempSync(path.join(os.tmpdir(), "nslab-prog-")), { NODE_PATH: path.join(root, "node_modules") }],
] as const) {
  test(`a plain node host loads it from ${where} and drives create, read and delete`, async () => {
    const text = await serialized(require("../../sdk/internal/shim").providerFor, "Netns");
    const inputs = { name: "shimns", loopback: true, owner: owner("shim") };
    const [check, create] = host(text, cwd, [
      { op: "check", args: [{}, inputs] },
      { op: "create", args: [inputs] },
    ], env);
    assert.equal(check!.result.failures, []);
    assert.is(create!.result?.id, "netns:shimns", create!.error);
    assert.match(sh("ip", "-n", "shimns", "link", "show", "dev", "lo"), /alias nslab:/);
    const [read, del, gone] = host(text, cwd, [
      { op: "read", args: [create!.result.id, create!.result.outs] },
      { op: "delete", args: [create!.result.id, create!.result.outs] },
      { op: "read", args: [create!.result.id, create!.result.outs] },
    ], env);
    assert.equal(read!.result.props, create!.result.outs);
    assert.is(del!.error, undefined);
    assert.equal(gone!.result, {});
  });
}

test("without the package on its path the host fails with a clear module error", async () => {
  const text = await serialized(require("../../sdk/internal/shim").providerFor, "Netns");
  const [r] = host(text, os.tmpdir(), [{ op: "check", args: [{}, {}] }]);
  assert.match(r!.error!, /Cannot find module 'nslab\/provider'/);
});

test("the registry's answers carry no undefined value, so the host can send them (an IPv6 Address has no label)", async () => {
  const { providers } = require("../../provider");
  const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
  sh("ip", "link", "add", "name", "s0", "type", "veth", "peer", "name", "s1");
  const { inputs } = await providers.Address.check({}, { device: "s0", address: "2001:db8::1/64", owner: owner("v6") });
  const { id, outs } = await providers.Address.create(inputs);
  assert.not.ok(Object.values(outs).includes(undefined));
  Struct.fromJavaScript(outs);
  Struct.fromJavaScript((await providers.Address.read(id, outs)).props);
  await providers.Address.delete(id, outs);
  sh("ip", "link", "del", "dev", "s0");
});

test.run();
