import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Lab, ops } from "./lab";

// Aliases by name and by parent (the subset nslab serves): the renamed or re-parented resource
// takes over its old state and is diffed, not deleted and created again. Other aliases fail.

const test = suite("engine aliases");
const lab = new Lab();
test.after(() => lab.cleanup());

test("a renamed resource with an alias of its old name is the same resource", async () => {
  await lab.run("up", [{ name: "old", value: "1" }]);
  const id = lab.state().deployment.resources.find((r) => r.urn.endsWith("::old"))!.id;
  const r = await lab.run("up", [{ name: "new", value: "1", aliases: [{ name: "old" }] }]);
  assert.is(r.failed, false, JSON.stringify(r.diagnostics));
  assert.not.ok(lab.calls().some((c) => c.startsWith("create") || c.startsWith("delete")), lab.calls().join());
  assert.equal(lab.names(), ["new"]);
  assert.is(lab.state().deployment.resources.find((r) => r.urn.endsWith("::new"))!.id, id);
  assert.equal(ops(r).filter((o) => o.endsWith(" new")).length, 1);
  await lab.run("destroy");
});

test("a resource moved out of a component with an alias of its old parent keeps its state", async () => {
  await lab.run("up", [{ name: "g", value: "group" }, { name: "child", value: "1", parent: "g" }]);
  const r = await lab.run("up", [{ name: "g", value: "group" }, { name: "child", value: "1", aliases: [{ parent: "g" }] }]);
  assert.is(r.failed, false, JSON.stringify(r.diagnostics));
  assert.not.ok(lab.calls().some((c) => c.startsWith("create") || c.startsWith("delete")), lab.calls().join());
  const child = lab.state().deployment.resources.find((r) => r.urn.endsWith("::child"))!;
  assert.is(child.urn, "urn:pulumi:dev::recorder::pulumi-nodejs:dynamic/test:Rec::child");
  await lab.run("destroy");
});

test("fails with a clear message on an alias of another type", async () => {
  const r = await lab.run("up", [{ name: "x", value: "1", aliases: [{ type: "test:index:Old" }] }]);
  assert.is(r.failed, true);
  assert.match(r.diagnostics.map((d) => d.message).join("\n"), /nslab does not support aliases of another type, stack or project/);
});

test.run();
