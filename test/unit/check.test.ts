import { suite } from "uvu";
import * as assert from "uvu/assert";
import { commonRules, intInRange, isUnknown, known, required, rule, ruleUnset, UNKNOWN, validate, type Rule } from "../../provider/lib/check";
import type { Owner } from "../../provider/lib/owner";

// validate() and the rule helpers (docs/design.md, "Validate before touching the kernel"): every failure at once, one reason per
// property, unknown values skipped, and a reason that names the bad value and what is allowed (the
// engine prints it after the resource and the property). Exercised on a made-up kind so that no real kind's rules are needed.

interface DemoInputs {
  owner?: Owner;
  adopt?: boolean;
  name?: string;
  mtu?: number;
  peerMtu?: number;
  netns?: string;
}

const OWNER: Owner = { project: "lab", stack: "dev", path: ["lan", "web"] };

const rules: Rule<DemoInputs>[] = [
  ...commonRules<DemoInputs>(),
  required<DemoInputs>("name", "the interface name"),
  rule<DemoInputs, "name">("name", (v) => (typeof v === "string" ? undefined : "use a string")),
  rule<DemoInputs, "name">("name", (v) => (v.length <= 15 ? undefined : "use at most 15 bytes")),
  rule<DemoInputs, "mtu">("mtu", intInRange(68, 65535, " bytes")),
  // A cross-property rule: runs on peerMtu, reads mtu.
  rule<DemoInputs, "peerMtu">("peerMtu", (v, i) => (i.mtu === undefined || v === i.mtu ? undefined : `both ends need the same MTU; mtu is ${i.mtu}`)),
  ruleUnset<DemoInputs, "netns">("netns", (v, i) => (v === undefined && i.name === "eth0" ? `set it: "eth0" in the host namespace is host-critical` : undefined)),
];

const check = (inputs: DemoInputs) => validate(inputs, rules);

const test = suite("validate");

test("passes valid inputs with no failures", () => {
  assert.equal(check({ owner: OWNER, name: "web0", mtu: 1500, peerMtu: 1500, adopt: false }), []);
});

test("reports a failure as `<value> is not valid: <why>` under its property (the engine names the resource)", () => {
  assert.equal(check({ owner: OWNER, name: "web0", mtu: 70000 }), [{ property: "mtu", reason: '70000 is not valid: use an integer from 68 to 65535 bytes' }]);
  assert.equal(check({ owner: OWNER, name: "a-very-long-interface-name" }), [
    { property: "name", reason: '"a-very-long-interface-name" is not valid: use at most 15 bytes' },
  ]);
});

test("reports every failing property at once, in rule order", () => {
  const failures = check({ owner: OWNER, name: 42 as unknown as string, mtu: 1.5, peerMtu: 9000, adopt: "yes" as unknown as boolean });
  assert.equal(
    failures.map((f) => f.property),
    ["adopt", "name", "mtu", "peerMtu"],
  );
  assert.equal(failures.map((f) => f.reason), [
    '"yes" is not valid: use true or false',
    '42 is not valid: use a string',
    '1.5 is not valid: use an integer from 68 to 65535 bytes',
    '9000 is not valid: both ends need the same MTU; mtu is 1.5',
  ]);
});

test("gives one reason per property: the first failing rule wins, later rules of that property are skipped", () => {
  // `name` fails "use a string"; the length rule would throw on a number if it ran.
  // biome-ignore lint/correctness/noPrecisionLoss: a number no JSON integer holds, on purpose
  const failures = check({ owner: OWNER, name: 12345678901234567890 as unknown as string });
  assert.equal(failures, [{ property: "name", reason: '12345678901234567000 is not valid: use a string' }]);
});

test("skips unknown values (preview), including required ones, but still checks the others", () => {
  assert.equal(check({ owner: OWNER, name: UNKNOWN, mtu: UNKNOWN as unknown as number, peerMtu: UNKNOWN as unknown as number }), []);
  assert.equal(
    check({ owner: OWNER, name: UNKNOWN, mtu: 10 }).map((f) => f.property),
    ["mtu"],
  );
  // A cross-property rule sees the other property's unknown value as a value.
  assert.equal(check({ owner: OWNER, name: "web0", mtu: UNKNOWN as unknown as number, peerMtu: 1500 }).map((f) => f.reason), [
    `1500 is not valid: both ends need the same MTU; mtu is ${UNKNOWN}`,
  ]);
});

test("skips unset optional properties; required and ruleUnset rules run on them and show (unset)", () => {
  assert.equal(check({ owner: OWNER, name: "web0" }), []);
  assert.equal(check({ owner: OWNER }), [{ property: "name", reason: '(unset) is not valid: it is required: the interface name' }]);
  assert.equal(check({ owner: OWNER, name: "" }), [{ property: "name", reason: '"" is not valid: it is required: the interface name' }]);
  assert.equal(check({ owner: OWNER, name: "eth0" }), [{ property: "netns", reason: '(unset) is not valid: set it: "eth0" in the host namespace is host-critical' }]);
});

test("requires the SDK's owner input, and names the resource \"?\" without it", () => {
  const fix = "set by the nslab SDK classes; create this resource through them (new nslab.<Kind>(...))";
  assert.equal(check({ name: "web0" }), [{ property: "owner", reason: `(unset) is not valid: ${fix}` }]);
  for (const bad of [{ project: "lab", stack: "dev", path: [] }, { project: "lab", stack: 1, path: ["x"] }, { project: "lab", stack: "dev", path: "x" }]) {
    assert.equal(check({ owner: bad as unknown as Owner, name: "web0" }).map((f) => f.property), ["owner"], JSON.stringify(bad));
  }
});

test("never throws on bad input of any type", () => {
  for (const v of [null, 0, -1, NaN, Infinity, "", "x", [], {}, true]) {
    const inputs = { owner: OWNER, name: "web0", mtu: v as number, adopt: v as boolean };
    check(inputs);
  }
  assert.equal(check({ owner: OWNER, name: "web0", mtu: null as unknown as number }), [], "null is unset");
});

test.run();

const helpers = suite("check helpers");

helpers("intInRange accepts integers within the bounds only", () => {
  const mtu = intInRange(68, 65535, " bytes");
  assert.equal([68, 1500, 65535].map(mtu), [undefined, undefined, undefined]);
  for (const bad of [67, 65536, 1500.5, NaN, Infinity, -1]) assert.is(mtu(bad), "use an integer from 68 to 65535 bytes", String(bad));
  assert.is(intInRange(1, 2)(3), "use an integer from 1 to 2");
});

helpers("known is true for set, known values; isUnknown only for the engine's placeholder", () => {
  assert.equal([known(0), known(""), known(false), known("x")], [true, true, true, true]);
  assert.equal([known(undefined), known(null as unknown as undefined), known(UNKNOWN)], [false, false, false]);
  assert.equal([isUnknown(UNKNOWN), isUnknown("unknown"), isUnknown(undefined)], [true, false, false]);
});

helpers.run();
