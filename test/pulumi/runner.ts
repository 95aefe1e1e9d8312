import * as fs from "node:fs";
import * as path from "node:path";
import * as assert from "uvu/assert";
import { changes, type Example, type Json, nslab, ROOT, useRunner } from "../helpers/example";
import { deleteAnAddress, PulumiStack, upInOwnSandbox } from "../helpers/pulumi";
import { kernelSnapshot } from "../helpers/snapshot";

// Imported first by test/pulumi/examples/*: the example tests of test/examples/ then run through
// the real Pulumi CLI on a copy whose node_modules is the checkout's (as an example inside a
// checkout resolves it). Every preview (and one before the first up) is also nslab's own on the
// same state (exported after each run), and the two must plan the same steps; the first
// `pulumi up` makes the kernel and the outputs `nslab up` makes in a sandbox of its own; after the
// change is up, an address deleted by hand is found by `pulumi refresh` and repaired by `pulumi up`.

const stacks = new Map<Example, PulumiStack>();

function stackOf(ex: Example): PulumiStack {
  let stack = stacks.get(ex);
  if (!stack) {
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(ex.dir, "node_modules"));
    stacks.set(ex, (stack = new PulumiStack(ex.dir)));
  }
  return stack;
}

const DEFAULT_PROVIDER = "pulumi:providers:pulumi-nodejs::default";

/** What a preview plans: (URN, op) and the changed property names, in one order; the default provider's step apart. */
export const plan = (j: Json) =>
  j.steps
    .filter((s) => !s.urn.endsWith(DEFAULT_PROVIDER))
    .map((s) => `${s.op} ${s.urn} [${[...s.diffs].sort().join(",")}]`)
    .sort();

/**
 * nslab preview and pulumi preview of the same program on the same state plan the same steps.
 * Three deviations of nslab's --json, pinned: it lists the default provider's step (Pulumi's engine
 * keeps it internal: no event, not in the digest), its changeSummary leaves out the Stack
 * (Pulumi's counts it), and with `options: refresh: always` it does not list the refresh steps
 * Pulumi's preview lists before the plan (op "refresh", left out by PulumiStack.run; Pulumi's
 * summary then counts them too, so it is not compared).
 */
export function expectSamePlan(ours: Json, theirs: Json, refreshFirst: boolean): void {
  assert.equal(plan(ours), plan(theirs), "nslab preview plans what pulumi preview plans");
  assert.ok(ours.steps.some((s) => s.urn.endsWith(DEFAULT_PROVIDER)), "nslab lists the default provider's step");
  assert.not.ok(theirs.steps.some((s) => s.urn.endsWith(DEFAULT_PROVIDER)), "pulumi does not list the default provider's step");
  if (refreshFirst) return;
  const stackOp = theirs.steps.find((s) => s.type === "pulumi:pulumi:Stack")!.op;
  const withStack = Object.fromEntries(Object.entries(ours.changeSummary).map(([op, n]) => [op, n + (op === stackOp ? 1 : 0)]));
  assert.equal(withStack, theirs.changeSummary, "pulumi's changeSummary is nslab's and the Stack");
}

/**
 * A kernel snapshot without what differs between two builds of the same lab: interface indexes
 * and the order of lines (creation order follows parallelism), IPv6 link-local addresses and
 * routes (random MACs) and duplicate address detection in progress.
 */
const comparable = (snapshot: string) =>
  snapshot
    .split(/^(?=# )/m)
    .map((section) =>
      section
        .split("\n")
        .filter((l) => !l.includes("fe80:"))
        .map((l) => l.replace(/^\d+: /, "").replace(/@if\d+/, "").replace(/ tentative/, ""))
        .sort()
        .join("\n"),
    )
    .join("\n");

useRunner({
  run(ex, op, config) {
    const stack = stackOf(ex);
    const previewBoth = () => {
      const theirs = stack.run("preview", config);
      expectSamePlan(nslab("preview", ex.dir, ex.stateDir, config), theirs, /refresh: always/.test(fs.readFileSync(path.join(ex.dir, "Pulumi.yaml"), "utf8")));
      return theirs;
    };
    if (op === "preview") return previewBoth();
    const first = op === "up" && !fs.existsSync(path.join(ex.stateDir, `${stack.stack}.json`));
    if (first) previewBoth();
    const j = stack.run(op, config);
    if (op !== "destroy") stack.exportTo(ex.stateDir);
    if (first) {
      const ours = upInOwnSandbox(ex.dir);
      assert.equal(ours.outputs, j.outputs, "nslab up and pulumi up: the same stack outputs");
      assert.fixture(comparable(ours.snapshot), comparable(kernelSnapshot()), "nslab up and pulumi up: the same kernel");
    }
    return j;
  },
  drift(ex) {
    const stack = stackOf(ex);
    const name = deleteAnAddress(path.join(ex.stateDir, `${stack.stack}.json`));
    const found = changes(stack.run("refresh"));
    assert.ok(found.includes(`delete ${name}`), `pulumi refresh finds ${name} gone: ${found.join(", ")}`);
    assert.equal(changes(stack.run("up")), found.map((s) => s.replace(/^delete /, "create ")).sort(), "pulumi up re-creates what refresh found gone");
    stack.exportTo(ex.stateDir);
  },
});
