import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { InitError, InProcessProviders, overTheWire, type Providers, type Subject } from "../../engine/dynamicProviders";
import { nodePath } from "../../engine/deploy";
import type { Props } from "../../engine/values";
import { ProviderHost } from "./providerHost";

// The engine calls dynamic providers in its own process (engine/dynamicProviders.ts) with the
// semantics of `@pulumi/pulumi/cmd/dynamic-provider`, the host the Pulumi CLI runs. Here the same
// calls go to both, the real host over gRPC and the engine's in-process providers, and every
// answer must be the same: values (key order, the provider key carried over, undefined refused),
// failures, the error messages, initErrors, configure once per run, a provider without read/diff.

const test = suite("dynamic providers in the engine's process, against the real host");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-providers-"));
fs.writeFileSync(path.join(dir, "package.json"), "{}");
const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const config = { "lab:greeting": "hello" };

// A provider whose answers depend on its inputs' `mode`; it counts its configure calls.
const FULL = `
let configured = 0, greeting;
exports.handler = () => ({
  async configure(req) { configured++; greeting = req.config.get("greeting"); },
  async check(olds, news) {
    if (news.mode === "fail") return { inputs: news, failures: [{ property: "mode", reason: "no good" }, { reason: "nor this" }] };
    if (news.mode === "throw") throw Object.assign(new Error("check broke"), { code: 5, details: "check details" });
    return { inputs: { z: 1, ...news, a: [{ y: 2, b: 1 }], olds: Object.keys(olds).length } };
  },
  async diff(id, olds, news) {
    if (news.mode === "throw") throw new Error("diff broke");
    return { changes: olds.v !== news.v, replaces: news.v === "r" ? ["v"] : [], deleteBeforeReplace: news.v === "r" ? 1 : undefined };
  },
  async create(inputs) {
    if (inputs.mode === "undefined") return { id: "x", outs: { gone: undefined } };
    if (inputs.mode === "init") throw Object.assign(new Error("made, not up"), { id: "half", properties: { q: 2, p: 1 }, reasons: ["r"] });
    if (inputs.mode === "throw") throw new Error("create broke");
    return { id: "id-" + inputs.v, outs: { v: inputs.v, greeting, configured, when: new Date(0) } };
  },
  async update(id, olds, news) {
    if (news.mode === "init") throw Object.assign(new Error("updated, not up"), { id, properties: { v: news.v } });
    if (news.mode === "none") return undefined;
    return { outs: { v: news.v, was: olds.v } };
  },
  async delete(id, props) {
    if (props.mode === "throw") throw new Error("delete broke: " + id);
  },
  async read(id, props) {
    if (props.mode === "gone") return { id: "" };
    return { id, props: { v: "read" }, inputs: { v: "in" } };
  },
});`;
// A provider with only create: no check, diff, update, delete or read.
const BARE = `exports.handler = () => ({ async create(inputs) { return { id: "bare", outs: inputs }; } });`;

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const full = (p: Props): Props => ({ ...p, __provider: FULL });
const bare = (p: Props): Props => ({ ...p, __provider: BARE });
const s: Subject = { urn: "urn:pulumi:dev::lab::pulumi-nodejs:dynamic:Resource::r", name: "r", type: "pulumi-nodejs:dynamic:Resource" };

/** Every call of the comparison, each answer (or error) as plain data. */
async function answers(p: Providers): Promise<unknown[]> {
  const calls: (() => Promise<unknown>)[] = [
    () => p.check(s, {}, full({ v: "1", m: 2, b: 1 })),
    () => p.check(s, full({ v: "0" }), { v: "1", __provider: UNKNOWN }),
    () => p.check(s, {}, full({ mode: "fail" })),
    () => p.check(s, {}, full({ mode: "throw" })),
    () => p.check(s, {}, bare({ v: "1", b: [3, { d: 1, c: null }] })),
    () => p.diff(s, "id-1", full({ v: "1" }), full({ v: "2" }), {}, []),
    () => p.diff(s, "id-1", full({ v: "1" }), full({ v: "1" }), {}, []),
    () => p.diff(s, "id-1", full({ v: "1" }), full({ v: "r" }), {}, []),
    () => p.diff(s, "id-1", full({ v: "1" }), full({ mode: "throw" }), {}, []),
    () => p.diff(s, "bare", bare({ v: "1" }), bare({ v: "2" }), {}, []),
    () => p.create(s, full({ v: "1" })),
    () => p.create(s, full({ v: "2" })),
    () => p.create(s, full({ mode: "undefined" })),
    () => p.create(s, full({ mode: "init" })),
    () => p.create(s, full({ mode: "throw" })),
    () => p.create(s, bare({ k: true })),
    () => p.update(s, "id-1", full({ v: "1" }), full({ v: "2" }), {}, []),
    () => p.update(s, "id-1", full({ v: "1" }), full({ mode: "init", v: "3" }), {}, []),
    () => p.update(s, "id-1", full({ v: "1" }), full({ mode: "none" }), {}, []),
    () => p.update(s, "bare", bare({ v: "1" }), bare({ v: "2" }), {}, []),
    () => p.delete(s, "id-1", full({ v: "1" }), {}),
    () => p.delete(s, "id-1", full({ mode: "throw" }), {}),
    () => p.delete(s, "bare", bare({}), {}),
    () => p.read(s, "id-1", full({ v: "1" }), full({ v: "1" })),
    () => p.read(s, "id-1", full({ mode: "gone" }), {}),
    () => p.read(s, "bare", bare({ v: "1", a: 1 }), {}),
  ];
  const out: unknown[] = [];
  for (const call of calls) {
    out.push(
      await call().then(
        (r) => ({ ok: r ?? null }),
        (e: Error) => ({ error: e.message, ...(e instanceof InitError ? { id: e.id, properties: e.properties } : {}) }),
      ),
    );
  }
  // Key order counts: the state file keeps it.
  return out.map((a) => JSON.stringify(a));
}

test("every call answers as the real dynamic-provider host answers", async () => {
  const host = await ProviderHost.start({ nodeArgs: [], hostDir: path.join(sdkDir, "cmd/dynamic-provider"), projectDir: dir, engineAddress: "127.0.0.1:1", env: { ...process.env, PULUMI_NODEJS_PROJECT: "lab" }, config });
  let hosted: unknown[];
  try {
    hosted = await answers(host);
  } finally {
    host.stop();
  }
  const inProcess = await answers(new InProcessProviders({ projectDir: dir, searchPath: nodePath().split(path.delimiter), sdkDir, project: "lab", config }));
  assert.equal(inProcess, hosted);
  // What the comparison covers: configure ran once (in each), an initError, the protobuf's refusal.
  assert.match(hosted.join("\n"), /"configured":1,"greeting":"hello"/);
  assert.match(hosted.join("\n"), /"error":"made, not up","id":"half","properties":\{"p":1,"q":2\}/);
  assert.match(hosted.join("\n"), /"error":"Unexpected struct type\."/);
});

test("values cross as through a protobuf Struct", () => {
  assert.equal(JSON.stringify(overTheWire({ b: 1, a: { d: [1, { f: 1, e: null }], c: new Date(0) } })), '{"a":{"c":{},"d":[1,{"e":null,"f":1}]},"b":1}');
  for (const bad of [{ a: undefined }, { a: () => 1 }, [undefined]]) assert.throws(() => overTheWire(bad), /^Unexpected struct type\.$/);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
