import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Deployment } from "../../engine/deployment";
import type { Providers } from "../../engine/dynamicProviders";
import type { Registration } from "../../engine/monitor";
import { journalPath, readState, resourceToState, StateWriter, type Journaled, type PendingOperation, type ResourceState } from "../../engine/state";
import { makeUrn, PROVIDER_TYPE, providerUrn, STACK_TYPE } from "../../engine/urn";
import type { Props } from "../../engine/values";
import { registration } from "../helpers/registration";

// The state file and its journal (engine/state.ts): what a reader sees during a run, after a run
// killed mid-way, and after a run that finished.

const test = suite("state journal");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-journal-"));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const res = (name: string, value: string): ResourceState => ({ urn: `urn:pulumi:dev::p::t::${name}`, custom: true, id: name, type: "t", inputs: { value }, outputs: { value } });
const names = (file: string) => readState(file)!.deployment.resources.map((r) => `${r.id}=${r.outputs.value}`);

/**
 * A run as the writer sees it (engine/deployment.ts is the real one), given its entries whole:
 * every URN it has held is reported changed, and the writer finds what did.
 */
class Run implements Journaled {
  private resources: ResourceState[] = [];
  private pending: PendingOperation[] = [];
  private readonly urns = new Set<string>();
  now(resources: ResourceState[], pending: PendingOperation[] = []): this {
    this.resources = resources;
    this.pending = pending;
    for (const r of resources) this.urns.add(r.urn);
    return this;
  }
  snapshot() {
    return { resources: this.resources, pending: this.pending };
  }
  pendingOperations() {
    return this.pending;
  }
  changes() {
    return new Map([...this.urns].map((urn) => [urn, this.resources.filter((r) => r.urn === urn)]));
  }
}

test("changes between the first and the last write are appended, not rewritten; a reader sees them all", () => {
  const file = path.join(dir, "a.json");
  const [a, b, c] = [res("a", "1"), res("b", "1"), res("c", "1")];
  const w = new StateWriter(file);
  const run = new Run();
  w.write(run.now([a, b], []));
  const whole = fs.readFileSync(file, "utf8");
  const b2 = res("b", "2");
  const creating: PendingOperation[] = [{ resource: c, type: "creating" }];
  w.write(run.now([a, b2], creating));
  w.write(run.now([a, b2, c], []));
  assert.is(fs.readFileSync(file, "utf8"), whole, "the file itself is not rewritten");
  assert.is(fs.readFileSync(journalPath(file), "utf8").trim().split("\n").length, 3, "a header and two entries");
  assert.equal(names(file), ["a=1", "b=2", "c=1"]);
  assert.is(readState(file)!.deployment.pending_operations, undefined);
  w.write(run.now([b2, c], []), true);
  assert.not.ok(fs.existsSync(journalPath(file)), "the last write leaves no journal");
  assert.equal(names(file), ["b=2", "c=1"]);
});

test("a run killed mid-way leaves its pending operation and its last changes readable; a cut last line is ignored", () => {
  const file = path.join(dir, "b.json");
  const [a, b] = [res("a", "1"), res("b", "1")];
  const w = new StateWriter(file);
  const run = new Run();
  w.write(run.now([a], []));
  w.write(run.now([a], [{ resource: b, type: "creating" }]));
  fs.appendFileSync(journalPath(file), '{"put":[{"urn":"urn:pulu');
  const state = readState(file)!;
  assert.equal(names(file), ["a=1"]);
  assert.equal(state.deployment.pending_operations!.map((p) => `${p.type} ${p.resource.id}`), ["creating b"]);
});

test("operations under way are journaled as they start and end, not as the whole list: a reader sees the list as it stands", () => {
  const file = path.join(dir, "e.json");
  const [a, b, c] = [res("a", "1"), res("b", "1"), res("c", "1")];
  const w = new StateWriter(file);
  const run = new Run();
  w.write(run.now([], []));
  w.write(run.now([], [{ resource: a, type: "creating" }, { resource: b, type: "creating" }]));
  w.write(run.now([a], [{ resource: b, type: "creating" }, { resource: c, type: "creating" }]));
  const last = JSON.parse(fs.readFileSync(journalPath(file), "utf8").trim().split("\n").pop()!);
  assert.equal(last.started.map((p: PendingOperation) => p.resource.id), ["c"], "only the operation that started");
  assert.equal(last.ended, [`creating ${a.urn}`], "and the key of the one that ended");
  assert.equal(readState(file)!.deployment.pending_operations!.map((p) => `${p.type} ${p.resource.id}`), ["creating b", "creating c"]);
  w.write(run.now([a, b, c], []));
  assert.is(readState(file)!.deployment.pending_operations, undefined);
});

test("a replacement made before its old resource is deleted: a killed run keeps both, then only the replacement", () => {
  // The old resource waiting for deletion shares its URN with its replacement.
  const file = path.join(dir, "d.json");
  const old = res("a", "1");
  const w = new StateWriter(file);
  const run = new Run();
  w.write(run.now([old], []));
  const replacement = { ...res("a", "2"), id: "a2" };
  w.write(run.now([replacement, { ...old, delete: true }], []));
  const listed = () => readState(file)!.deployment.resources.map((r) => `${r.id}=${r.outputs.value}${r.delete ? " (delete)" : ""}`);
  assert.equal(listed(), ["a2=2", "a=1 (delete)"]);
  w.write(run.now([replacement], []));
  assert.equal(listed(), ["a2=2"]);
});

test("a journal left beside a newer file is not applied again", () => {
  const file = path.join(dir, "c.json");
  const w = new StateWriter(file);
  const run = new Run();
  w.write(run.now([res("a", "1")], []));
  w.write(run.now([res("a", "2")], []));
  const stale = fs.readFileSync(journalPath(file), "utf8");
  new StateWriter(file).write(run.now([res("a", "3")], []), true);
  fs.writeFileSync(journalPath(file), stale);
  assert.equal(names(file), ["a=3"]);
});

test("the run's changes, journaled as they come, read back as its snapshot at every write: updates, replacements, aliases, deletes, component and stack outputs", async () => {
  const file = path.join(dir, "run.json");
  const project = { dir, name: "p", stack: "dev", main: ".", config: {}, refresh: false };
  const T = "pulumi-nodejs:dynamic:T";
  const stack = makeUrn(project, STACK_TYPE, "p-dev");
  const provider = `${makeUrn(project, PROVIDER_TYPE, "default")}::1`;
  const old = (name: string, value: string, more: Partial<ResourceState> = {}): ResourceState => ({ urn: makeUrn(project, T, name), custom: true, id: name, type: T, inputs: { value }, outputs: { value }, parent: stack, provider, ...more });
  const prior: ResourceState[] = [
    { urn: stack, custom: false, type: STACK_TYPE, inputs: {}, outputs: {} },
    { urn: providerUrn(provider), custom: true, id: "1", type: PROVIDER_TYPE, inputs: {}, outputs: {} },
    old("same", "1"),
    old("updated", "1"),
    old("replaced", "1"),
    old("renamed", "1", { dependencies: [makeUrn(project, T, "same")] }),
    old("dropped", "1", { dependencies: [makeUrn(project, T, "renamed")] }),
    old("waiting", "0", { id: "w0", delete: true }),
  ];
  // Pure logic: a provider that creates what it is given and asks to replace on `replace`.
  const providers: Providers = {
    check: async (_s, _o, news) => ({ inputs: news, failures: [] }),
    diff: async (_s, _id, olds, news) => ({ changes: olds.value === news.value ? "none" : "some", replaces: news.replace ? ["value"] : [], deleteBeforeReplace: false }),
    create: async (s, properties) => ({ id: `${s.name}-new`, outputs: properties }),
    update: async (_s, _id, _o, news) => news,
    delete: async () => {},
    read: async (_s, id, outputs) => ({ id, outputs }),
  };
  const writer = new StateWriter(file);
  let writes = 0;
  const key = (r: ResourceState) => JSON.stringify(resourceToState(r));
  const check = () => {
    writer.write(d);
    writes++;
    const read = readState(file)!.deployment;
    const { resources, pending } = d.snapshot();
    assert.equal(read.resources.map(key).sort(), resources.map(key).sort(), `resources after write ${writes}`);
    assert.equal((read.pending_operations ?? []).map((p) => `${p.type} ${key(p.resource)}`).sort(), pending.map((p) => `${p.type} ${key(p.resource)}`).sort(), `operations after write ${writes}`);
  };
  const d: Deployment = new Deployment({
    project,
    dryRun: false,
    parallel: 4,
    resources: prior,
    providers,
    events: { step: () => {}, finding: () => {}, diagnostic: () => {}, changed: async () => check() },
  });
  const reg = (name: string, inputs: Props, more: Partial<Registration> = {}) => registration({ type: T, name, parent: stack, inputs, ...more });

  await d.register(reg("p-dev", {}, { type: STACK_TYPE, parent: "", custom: false }));
  await Promise.all([
    d.register(reg("same", { value: "1" })),
    d.register(reg("updated", { value: "2" })),
    d.register(reg("replaced", { value: "2", replace: true })),
    d.register(reg("moved", { value: "1" }, { aliases: [{ name: "renamed" }] })),
    d.register(reg("added", { value: "1" })),
  ]);
  const component = makeUrn(project, "my:C", "comp");
  await d.register(reg("comp", {}, { type: "my:C", custom: false }));
  d.registerOutputs(component, { answer: 42 });
  d.registerOutputs(stack, { out: "x" });
  check();
  await d.deletePhase();
  check();
  assert.ok(writes > 10, `${writes} writes`);
  const final = readState(file)!.deployment.resources.map((r) => `${r.urn.split("::").pop()}${r.delete ? " (delete)" : ""}=${JSON.stringify(r.outputs)}`);
  assert.equal(final.sort(), ['added={"value":"1"}', 'comp={"answer":42}', "default={}", 'moved={"value":"1"}', 'p-dev={"out":"x"}', 'replaced={"value":"2","replace":true}', 'same={"value":"1"}', 'updated={"value":"2"}']);
});

test.run();
