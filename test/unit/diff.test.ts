import { suite } from "uvu";
import * as assert from "uvu/assert";
import { UNKNOWN } from "../../provider/lib/check";
import { changedKeys, planDiff, type DiffSpec } from "../../provider/lib/diff";

// planDiff (docs/design.md, "Kernel names are identity"): identity keys replace, delete first; in-place keys update; an
// unknown identity replaces; an unset in-place key is not managed; everything else is ignored.

type Props = Record<string, unknown>;
const SPEC: DiffSpec<Props> = { replace: ["name", "netns"], update: ["mtu", "up", "owner"] };

const OLDS = {
  name: "web0",
  netns: "red",
  mtu: 1500,
  up: true,
  owner: { project: "lab", stack: "dev", path: ["web"] },
  ifindex: 7,
  __provider: "serialized provider text",
};

const test = suite("planDiff");

test("reports no change when nothing in the spec changed, whatever else did", () => {
  assert.equal(planDiff<Props>(OLDS, { ...OLDS, ifindex: 8, __provider: "a newer provider" }, SPEC), {
    changes: false,
    replaces: [],
    deleteBeforeReplace: false,
    stables: ["name", "netns"],
  });
});

test("updates in place when only update keys changed", () => {
  assert.equal(planDiff<Props>(OLDS, { ...OLDS, mtu: 9000, up: false }, SPEC), {
    changes: true,
    replaces: [],
    deleteBeforeReplace: false,
    stables: ["name", "netns"],
  });
});

test("replaces, delete first, when an identity key changed, and keeps the rest stable", () => {
  assert.equal(planDiff<Props>(OLDS, { ...OLDS, name: "web1", mtu: 9000 }, SPEC), {
    changes: true,
    replaces: ["name"],
    deleteBeforeReplace: true,
    stables: ["netns"],
  });
  assert.equal(planDiff<Props>(OLDS, { ...OLDS, name: "web1", netns: "blue" }, SPEC).replaces, ["name", "netns"]);
});

test("replaces when an identity key is unknown in preview, even if it may turn out the same", () => {
  const d = planDiff<Props>(OLDS, { ...OLDS, netns: UNKNOWN }, SPEC);
  assert.equal([d.changes, d.replaces, d.deleteBeforeReplace, d.stables], [true, ["netns"], true, ["name"]]);
});

test("treats an unset identity key as a value: unsetting or setting it replaces (e.g. the host namespace)", () => {
  const { netns: _, ...hostOlds } = OLDS;
  assert.equal(planDiff<Props>(OLDS, hostOlds, SPEC).replaces, ["netns"]);
  assert.equal(planDiff<Props>(hostOlds, OLDS, SPEC).replaces, ["netns"]);
  assert.equal(planDiff<Props>(hostOlds, hostOlds, SPEC).changes, false);
  assert.equal(planDiff<Props>({ ...OLDS, netns: null }, hostOlds, SPEC).changes, false, "null and unset are the same");
});

test("an unknown update value is a change, but not a replace", () => {
  const d = planDiff<Props>(OLDS, { ...OLDS, mtu: UNKNOWN }, SPEC);
  assert.equal([d.changes, d.replaces, d.deleteBeforeReplace], [true, [], false]);
});

test("an update key left unset is not managed: no change, whatever the old value", () => {
  const { mtu: _, up: __, ...news } = OLDS;
  assert.equal(planDiff<Props>(OLDS, news, SPEC).changes, false);
  assert.equal(planDiff<Props>({ ...OLDS, mtu: undefined }, { ...OLDS, mtu: 1500 }, SPEC).changes, true, "setting it starts managing it");
});

test("compares objects and arrays by value", () => {
  const owner = { project: "lab", stack: "dev", path: ["web"] };
  assert.equal(planDiff<Props>(OLDS, { ...OLDS, owner }, SPEC).changes, false);
  assert.equal(planDiff<Props>(OLDS, { ...OLDS, owner: { ...owner, path: ["lan", "web"] } }, SPEC), {
    changes: true,
    replaces: [],
    deleteBeforeReplace: false,
    stables: ["name", "netns"],
  });
});

test("distinguishes values of different types (1 is not \"1\")", () => {
  assert.equal(planDiff<Props>(OLDS, { ...OLDS, mtu: "1500" }, SPEC).changes, true);
  assert.equal(planDiff<Props>(OLDS, { ...OLDS, name: 0 }, SPEC).replaces, ["name"]);
});

test.run();

const changed = suite("changedKeys");

changed("lists the update keys whose value changed, skipping unset ones", () => {
  const keys = ["mtu", "up", "owner"];
  assert.equal(changedKeys<Props>(OLDS, { ...OLDS, mtu: 9000, up: undefined }, keys), ["mtu"]);
  assert.equal(changedKeys<Props>(OLDS, { ...OLDS, owner: { ...OLDS.owner, stack: "prod" }, up: false }, keys), ["up", "owner"]);
  assert.equal(changedKeys<Props>(OLDS, OLDS, keys), []);
});

changed.run();
