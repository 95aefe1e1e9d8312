import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Lab, ops, type Spec } from "./lab";

// Per-resource steps (docs/engine.md, "Per-resource steps"): Check then Create; Check, Diff, then Same,
// Update or Replace (create-before-delete, or delete-before-replace as the diff or the option
// says, with dependents); preview calls only Check and Diff.

const test = suite("engine steps");
const lab = new Lab();
test.after(() => lab.cleanup());

const a = (value: string, extra: Partial<Spec> = {}): Spec => ({ name: "a", value, ...extra });
const b = (value: string, extra: Partial<Spec> = {}): Spec => ({ name: "b", value, after: "a", ...extra });

test("preview of a new stack calls only Check, creates nothing and writes no state", async () => {
  const r = await lab.run("preview", [a("1"), b("1")]);
  assert.is(r.failed, false);
  assert.equal(ops(r), ["create a", "create b"]);
  assert.equal(lab.calls(), ["check a", "check b"]);
  // b's dep is a's output-only `path`: unknown in preview, and check saw the sentinel.
  assert.equal(r.outputs, { paths: { a: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", b: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" } });
  assert.is(r.state, undefined);
});

test("up creates: Check (no olds) then Create, dependents after their dependency", async () => {
  const r = await lab.run("up", [a("1"), b("1")]);
  assert.is(r.failed, false, JSON.stringify(r.diagnostics));
  assert.equal(ops(r), ["create a", "create b"]);
  assert.equal(lab.calls(), ["check a", "create a", "check b", "create b"]);
  assert.is(lab.callRecords()[0]!.olds, false);
  assert.equal(r.outputs, { paths: { a: "/made/a/1", b: "/made/b/1" } });
  assert.equal(r.changeSummary, { same: 0, create: 2, update: 0, replace: 0, delete: 0 });
});

test("a no-op preview shows only `same` and calls only Check (with olds) and Diff", async () => {
  const before = lab.state().deployment.resources;
  const r = await lab.run("preview", [a("1"), b("1")]);
  assert.ok(r.steps.every((s) => s.op === "same"), JSON.stringify(r.steps));
  assert.equal(lab.calls(), ["check a", "diff a", "check b", "diff b"]);
  assert.ok(lab.callRecords()[0]!.olds);
  assert.equal(r.outputs, { paths: { a: "/made/a/1", b: "/made/b/1" } });
  assert.equal(lab.state().deployment.resources, before);
});

test("a no-op up is all `same`: no provider writes, ids and outputs kept", async () => {
  const ids = lab.state().deployment.resources.map((r) => r.id);
  const r = await lab.run("up", [a("1"), b("1")]);
  assert.equal(ops(r), ["same a", "same b"]);
  assert.equal(lab.calls(), ["check a", "diff a", "check b", "diff b"]);
  assert.equal(lab.state().deployment.resources.map((r) => r.id), ids);
});

test("preview of an update calls no Update; the dependent sees the unknown output", async () => {
  const r = await lab.run("preview", [a("2"), b("1")]);
  assert.equal(ops(r), ["update a", "update b"]);
  assert.equal(lab.calls(), ["check a", "diff a", "check b", "diff b"]);
  const bStep = r.steps.find((s) => s.urn.endsWith("::b"))!;
  assert.equal(bStep.diffs, ["dep"]);
  assert.equal(bStep.news, { dep: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" });
});

test("update: Diff says changes, no replaces -> Update in place, same id; dependents follow", async () => {
  const id = lab.state().deployment.resources.find((r) => r.urn.endsWith("::a"))!.id;
  const r = await lab.run("up", [a("2"), b("1")]);
  assert.equal(ops(r), ["update a", "update b"]);
  assert.equal(lab.calls(), ["check a", "diff a", "update a", "check b", "diff b", "update b"]);
  assert.is(lab.state().deployment.resources.find((r) => r.urn.endsWith("::a"))!.id, id);
  assert.equal(r.steps.find((s) => s.urn.endsWith("::a"))!.diffs, ["value"]);
  assert.equal(r.outputs, { paths: { a: "/made/a/2", b: "/made/b/1" } });
});

test("replace, create-before-delete (default): re-Check without olds, Create new, Delete old last", async () => {
  const oldId = lab.state().deployment.resources.find((r) => r.urn.endsWith("::a"))!.id;
  const r = await lab.run("up", [a("3", { replace: true }), b("1")]);
  assert.equal(ops(r), ["replace a", "update b"]);
  assert.equal(lab.calls(), ["check a", "diff a", "check a", "create a", "check b", "diff b", "update b", "delete a"]);
  const calls = lab.callRecords();
  assert.is(calls[2]!.olds, false);
  assert.is(calls.at(-1)!.id, oldId);
  assert.is.not(lab.state().deployment.resources.find((r) => r.urn.endsWith("::a"))!.id, oldId);
  assert.ok(lab.state().deployment.resources.every((r) => !r.delete));
});

test("replace, delete-before-replace when the diff asks: Delete old before Create; a dependent that need not be replaced is updated", async () => {
  const r = await lab.run("up", [a("4", { replace: true, dbr: true }), b("1")]);
  assert.equal(ops(r), ["replace a", "update b"]);
  // "diff b": is b, with its inputs from a unknown, replaced too? (no: it is updated afterwards)
  assert.equal(lab.calls(), ["check a", "diff a", "check a", "diff b", "delete a", "create a", "check b", "diff b", "update b"]);
});

test("the deleteBeforeReplace option overrides the diff's answer, both ways", async () => {
  let r = await lab.run("up", [a("5", { replace: true, dbr: true, deleteBeforeReplace: false }), b("1")]);
  assert.equal(ops(r), ["replace a", "update b"]);
  assert.equal(lab.calls().slice(0, 4), ["check a", "diff a", "check a", "create a"]);
  assert.is(lab.calls().at(-1), "delete a");
  r = await lab.run("up", [a("6", { replace: true, deleteBeforeReplace: true }), b("1")]);
  assert.equal(lab.calls().slice(0, 6), ["check a", "diff a", "check a", "diff b", "delete a", "create a"]);
});

test("delete-before-replace with a dependent whose diff asks for replacement: dependent deleted first, re-created without Diff", async () => {
  await lab.run("up", [a("6", { replace: true }), b("1", { replaceDep: true })]);
  const r = await lab.run("up", [a("7", { replace: true, dbr: true }), b("1", { replaceDep: true })]);
  assert.equal(ops(r), ["replace a", "replace b"]);
  // the dependent-replacement Diff of b (dep unknown), delete b, delete a, create a, then b: Check without olds, Create.
  assert.equal(lab.calls(), ["check a", "diff a", "check a", "diff b", "delete b", "delete a", "create a", "check b", "create b"]);
  assert.is(lab.callRecords().at(-2)!.olds, false);
  assert.equal(lab.names(), ["a", "b"]);
});

test("ignoreChanges: the ignored input keeps its old value, so nothing changes", async () => {
  const r = await lab.run("up", [a("8", { replace: true, dbr: true, ignoreChanges: ["value"] }), b("1", { replaceDep: true })]);
  assert.equal(ops(r), ["same a", "same b"]);
  assert.is(lab.callRecords()[0]!.value, "7");
});

test("the program's log messages are diagnostics, about their resource; its debug messages are not shown", async () => {
  const r = await lab.run("up", [a("1"), { name: "l", value: "log" }]);
  assert.is(r.failed, false, JSON.stringify(r.diagnostics));
  const urn = r.steps.find((s) => s.urn.endsWith("::a"))!.urn;
  assert.equal(
    r.diagnostics.map((d) => ({ ...d })),
    [
      { severity: "info", message: "info from l", urn },
      { severity: "warning", message: "warning from l" },
    ],
  );
});

test.run();
