import { suite } from "uvu";
import * as assert from "uvu/assert";
import { deleteOrder } from "../../engine/deletePhase";
import type { Registration } from "../../engine/monitor";
import { componentStep, decide, deleteCallsProvider, inputsWithUnknownDependencies, refreshFinding, unsupported, type Decision, type DecisionInput } from "../../engine/planner";
import type { DiffResult } from "../../engine/dynamicProviders";
import type { ResourceState } from "../../engine/state";
import { STACK_TYPE } from "../../engine/urn";
import { UNKNOWN } from "../../engine/values";
import { registration } from "../helpers/registration";

// The step planner's decisions (engine/planner.ts), table by table, in-process: no program, no
// provider host, no root.

const test = suite("step planner");
const TYPE = "pulumi-nodejs:dynamic:Resource";
const urn = (name: string, type = TYPE) => `urn:pulumi:dev::lab::${type}::${name}`;


const resource = (name: string, extra: Partial<ResourceState> = {}): ResourceState => ({ urn: urn(name), custom: true, id: `${name}-id`, type: TYPE, inputs: { v: 1 }, outputs: {}, ...extra });
const diff = (changes: DiffResult["changes"], replaces: string[] = [], deleteBeforeReplace = false): DiffResult => ({ changes, replaces, deleteBeforeReplace });

const decisions: [string, Partial<DecisionInput>, Decision | string][] = [
  ["the Diff finds nothing: same", { diff: diff("none") }, { op: "same" }],
  ["nothing changed, but a partial create left initErrors: update", { old: resource("r", { initErrors: ["half"] }), diff: diff("none") }, { op: "update", diffs: [] }],
  ["changes without replaces: update, the changed keys shown", { checked: { v: 2 }, diff: diff("some") }, { op: "update", diffs: ["v"] }],
  ["replaces: create-before-delete by default", { checked: { v: 2 }, diff: diff("some", ["v"]) }, { op: "replace", diffs: ["v"], replaces: ["v"], deleteBeforeReplace: false }],
  ["replaces: delete-before-replace when the Diff asks", { checked: { v: 2 }, diff: diff("some", ["v"], true) }, { op: "replace", diffs: ["v"], replaces: ["v"], deleteBeforeReplace: true }],
  ["the option overrides the Diff's order", { checked: { v: 2 }, registration: registration({ deleteBeforeReplace: false }), diff: diff("some", ["v"], true) }, { op: "replace", diffs: ["v"], replaces: ["v"], deleteBeforeReplace: false }],
  ["a replaced key the inputs do not show is listed too", { checked: { v: 2 }, diff: diff("some", ["id"]) }, { op: "replace", diffs: ["id", "v"], replaces: ["id"], deleteBeforeReplace: false }],
  ["no Diff answer: the legacy diff of the inputs, same when equal", { diff: diff("unknown") }, { op: "same" }],
  ["no Diff answer: update when the inputs differ", { checked: { v: 2 }, diff: diff("unknown") }, { op: "update", diffs: ["v"] }],
  ["no Diff answer: replaceOnChanges makes it a replace", { checked: { v: 2 }, registration: registration({ replaceOnChanges: ["v"] }), diff: diff("unknown") }, { op: "replace", diffs: ["v"], replaces: ["v"], deleteBeforeReplace: false }],
  ["a protected resource is not replaced", { old: resource("r", { protect: true }), protect: true, checked: { v: 2 }, diff: diff("some", ["v"]) }, "cannot be replaced because it is protected (changed: v)"],
  ["protect removed by this registration: replaced", { old: resource("r", { protect: true }), protect: false, checked: { v: 2 }, diff: diff("some", ["v"]) }, { op: "replace", diffs: ["v"], replaces: ["v"], deleteBeforeReplace: false }],
];

test("decide: same, update or replace, and in which order, from the old state, the checked inputs and the Diff", () => {
  for (const [title, input, expected] of decisions) {
    const full: DecisionInput = { old: resource("r"), registration: registration(), checked: { v: 1 }, diff: diff("none"), protect: false, ...input };
    if (typeof expected === "string") assert.throws(() => decide(full), (err: Error) => err.message === expected, title);
    else assert.equal(decide(full), expected, title);
  }
});

test("componentStep: create without an old state, update when its inputs changed, the Stack never updated", () => {
  const rows: [ResourceState | undefined, Registration, string][] = [
    [undefined, registration({ custom: false }), "create"],
    [resource("r"), registration({ custom: false }), "same"],
    [resource("r"), registration({ custom: false, inputs: { v: 2 } }), "update"],
    [resource("r", { type: STACK_TYPE }), registration({ custom: false, type: STACK_TYPE, inputs: { v: 2 } }), "same"],
  ];
  for (const [old, reg, op] of rows) assert.is(componentStep(urn("r"), old, reg).op, op, `${reg.type} ${JSON.stringify(reg.inputs)}`);
});

test("inputsWithUnknownDependencies: only the inputs that depend on a replaced resource become unknown", () => {
  const replaced = new Set([urn("a")]);
  const rows: [ResourceState, object | undefined][] = [
    [resource("b", { inputs: { dep: "x", v: 1 }, propertyDependencies: { dep: [urn("a")] } }), { dep: UNKNOWN, v: 1 }],
    [resource("c", { propertyDependencies: { dep: [urn("other")] } }), undefined],
    [resource("d", { custom: false, propertyDependencies: { dep: [urn("a")] } }), undefined],
  ];
  for (const [candidate, expected] of rows) assert.equal(inputsWithUnknownDependencies(candidate, replaced), expected, candidate.urn);
});

test("deleteCallsProvider: protect refuses; retainOnDelete, components and deletedWith only leave the state", () => {
  const rows: [ResourceState, boolean, boolean | string][] = [
    [resource("r"), false, true],
    [resource("r"), true, false],
    [resource("r", { retainOnDelete: true }), false, false],
    [resource("r", { custom: false }), false, false],
    [resource("r", { protect: true }), false, "cannot be deleted because it is protected"],
  ];
  for (const [r, deletedWithGoing, expected] of rows) {
    if (typeof expected === "string") assert.throws(() => deleteCallsProvider(r, deletedWithGoing), new RegExp(expected));
    else assert.is(deleteCallsProvider(r, deletedWithGoing), expected, JSON.stringify(r));
  }
});

test("deleteOrder: dependents before what they depend on (parent, dependency, property dependency, deletedWith); the Stack after all", () => {
  const stack = resource("lab", { type: STACK_TYPE, urn: urn("lab", STACK_TYPE), custom: false });
  const a = resource("a", { parent: stack.urn });
  const b = resource("b", { dependencies: [urn("a")] });
  const c = resource("c", { propertyDependencies: { x: [urn("b")] } });
  const d = resource("d", { deletedWith: urn("a") });
  const outside = resource("e", { dependencies: [urn("kept")] });
  const order = deleteOrder([stack, a, b, c, d, outside]);
  const names = (r: ResourceState) => (order.get(r) ?? []).map((x) => x.urn.split("::").pop()).sort();
  assert.equal(names(a), ["b", "d"]);
  assert.equal(names(b), ["c"]);
  assert.equal(names(c), []);
  assert.equal(names(outside), []);
  assert.equal(names(stack), ["a", "a", "b", "c", "d", "e"]);
});

test("refreshFinding: gone when the Read returns no id; changed outputs listed with their old and read values", () => {
  const r = resource("r", { outputs: { mtu: 1500, name: "x" } });
  assert.equal(refreshFinding(r, { id: "", outputs: {} }).step, { op: "delete", urn: r.urn, type: TYPE, diffs: [] });
  const changed = refreshFinding(r, { id: "r-id", outputs: { mtu: 1400, name: "x" } });
  assert.equal(changed.step, { op: "update", urn: r.urn, type: TYPE, diffs: ["mtu"], olds: { mtu: 1500 }, news: { mtu: 1400 } });
  assert.is(refreshFinding(r, { id: "r-id", outputs: { mtu: 1500, name: "x" } }).step.op, "same");
});

test("unsupported: what nslab cannot run is named", () => {
  const rows: [Partial<Registration>, string | undefined][] = [
    [{}, undefined],
    [{ remote: true }, `remote components (${TYPE})`],
    [{ provider: "urn::id" }, "explicit providers (the provider option)"],
    [{ type: "aws:s3:Bucket" }, "aws:s3:Bucket: only dynamic resources (pulumi.dynamic.Resource) and components run under nslab"],
    [{ importId: "x" }, "importing resources (the import option)"],
  ];
  for (const [extra, expected] of rows) assert.is(unsupported(registration(extra)), expected, JSON.stringify(extra));
});

test.run();
