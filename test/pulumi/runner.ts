import * as fs from "node:fs";
import * as path from "node:path";
import * as assert from "uvu/assert";
import { changes, type Example, nslab, ROOT, useRunner } from "../helpers/example";
import { comparable, deleteAnAddress, expectSamePlan, PulumiStack, upInOwnSandbox } from "../helpers/pulumi";
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
