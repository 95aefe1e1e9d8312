import * as fs from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Lab, ops, type Spec } from "./lab";

// The delete phase, refresh, destroy, protect and retainOnDelete, components and parents, and
// failures (docs/engine.md: "The delete phase", "Refresh", "Destroy", "Per-resource steps", "Failures").

const test = suite("engine lifecycle");
const lab = new Lab();
test.after(() => lab.cleanup());

const chain: Spec[] = [
  { name: "a", value: "1" },
  { name: "b", value: "1", after: "a" },
  { name: "c", value: "1", after: "b" },
];

test("a failing check fails before anything is created, naming the resource and the reason", async () => {
  const r = await lab.run("up", [{ name: "bad", value: "1", fail: "value must be a prefix" }, { name: "a", value: "1", after: "bad" }]);
  assert.is(r.failed, true);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  assert.is(errors.length, 1, JSON.stringify(r.diagnostics));
  assert.match(errors[0]!.message, /resource 'bad': property fail has a problem: value must be a prefix/);
  assert.equal(lab.calls(), ["check bad"]);
  assert.equal(lab.names(), []);
});

test("resources dropped from the program are deleted after all registrations, dependents first", async () => {
  await lab.run("destroy");
  let r = await lab.run("up", chain);
  assert.equal(ops(r), ["create a", "create b", "create c"]);
  r = await lab.run("up", []);
  assert.is(r.failed, false);
  assert.equal(ops(r), ["delete a", "delete b", "delete c"]);
  assert.equal(lab.calls(), ["delete c", "delete b", "delete a"]);
  assert.equal(lab.names(), []);
});

test("components: children's URNs carry the parent's type; a component is deleted without a provider call", async () => {
  const r = await lab.run("up", [{ name: "g", value: "group" }, { name: "x", value: "1", parent: "g" }]);
  assert.ok(r.steps.some((s) => s.urn.endsWith("::test:index:Group$pulumi-nodejs:dynamic/test:Rec::x")), JSON.stringify(r.steps));
  assert.equal(ops(r), ["create g", "create x"]);
  const x = lab.state().deployment.resources.find((s) => s.urn.endsWith("::x"))!;
  assert.match(x.parent!, /::test:index:Group::g$/);
  await lab.run("up", []);
  assert.equal(lab.calls(), ["delete x"]);
});

test("protect: a protected resource dropped from the program fails the run and stays in state", async () => {
  await lab.run("up", [{ name: "p", value: "1", protect: true }]);
  const r = await lab.run("up", []);
  assert.is(r.failed, true);
  assert.match(r.diagnostics.map((d) => d.message).join("\n"), /cannot be deleted because it is protected/);
  assert.equal(lab.calls(), []);
  assert.equal(lab.names(), ["p"]);
  await lab.run("up", [{ name: "p", value: "1", protect: false }]);
  assert.is((await lab.run("up", [])).failed, false);
  assert.equal(lab.names(), []);
});

test("retainOnDelete: dropped from state without a provider call", async () => {
  await lab.run("up", [{ name: "r", value: "1", retainOnDelete: true }]);
  const r = await lab.run("up", []);
  assert.equal(ops(r), ["delete r"]);
  assert.equal(lab.calls(), []);
  assert.equal(lab.names(), []);
});

test("deletedWith: a resource deleted together with its target gets no provider call; alone, it does", async () => {
  await lab.run("up", [{ name: "ns", value: "1" }, { name: "inner", value: "1", deletedWith: "ns" }, { name: "other", value: "1", deletedWith: "ns" }]);
  await lab.run("up", [{ name: "ns", value: "1" }, { name: "inner", value: "1", deletedWith: "ns" }]);
  assert.equal(lab.calls().filter((c) => c.startsWith("delete")), ["delete other"], "its target stays: deleted by the provider");
  const r = await lab.run("destroy");
  assert.is(r.failed, false);
  assert.equal(lab.calls(), ["delete ns"], "the target takes it with it");
  assert.equal(ops(r).filter((o) => o.startsWith("delete")).sort(), ["delete inner", "delete ns"]);
});

test("refresh: Read every resource without running the program; an empty id drops it", async () => {
  await lab.run("up", chain);
  const r = await lab.run("refresh", undefined, { ENGINE_TEST_GONE: "b" });
  assert.is(r.failed, false);
  assert.equal(ops(r), ["delete b", "same a", "same c"]);
  assert.equal(lab.calls().sort(), ["read a", "read b", "read c"]);
  assert.equal(lab.names(), ["a", "c"]);
});

test("destroy: deletes in reverse dependency order without running the program", async () => {
  await lab.run("up", chain);
  const r = await lab.run("destroy");
  assert.is(r.failed, false);
  assert.equal(lab.calls(), ["delete c", "delete b", "delete a"]);
  assert.equal(lab.state().deployment.resources, []);
  assert.equal(r.changeSummary.delete, 3);
});

test("destroy: a delete starts as soon as what depends on it is gone, while an unrelated slow one runs", async () => {
  await lab.run("up", [{ name: "slow", value: "1", slowDelete: 1500 }, { name: "base", value: "1" }, { name: "top", value: "1", after: "base" }]);
  const r = await lab.run("destroy");
  assert.is(r.failed, false);
  // In waves, base would wait for the wave of slow and top; it goes right after top instead.
  assert.equal(lab.calls(), ["delete top", "delete base", "delete slow"]);
  assert.equal(lab.state().deployment.resources, []);
});

test("a step that fails stops the run: no deletes, later resources not created, exit status failed", async () => {
  await lab.run("up", [{ name: "keep", value: "1" }]);
  const r = await lab.run("up", [{ name: "a", value: "1" }, { name: "z", value: "1", after: "a", fail: "no" }, { name: "w", value: "1", after: "z" }]);
  assert.is(r.failed, true);
  assert.ok(!lab.calls().some((c) => c.startsWith("delete") || c === "create w"), lab.calls().join());
  assert.equal(lab.names().sort(), ["a", "keep"]);
  fs.rmSync(lab.stateFile);
});

test.run();
