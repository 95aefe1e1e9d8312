import * as fs from "node:fs";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { changes, Example, ROOT } from "../helpers/example";
import { PulumiStack } from "../helpers/pulumi";
import { kernelSnapshot } from "../helpers/snapshot";

// State both ways between nslab and the real Pulumi CLI, on examples/docker-bridge (components,
// NAT, a published port): a stack made by `nslab up` is taken over with `pulumi stack import` of
// nslab's state file, and one made by `pulumi up` with `pulumi stack export` into nslab's state
// directory; either way the other engine sees no change and its destroy leaves the kernel as it was.

const test = suite("pulumi/state");

function copy(): { ex: Example; stack: PulumiStack } {
  const ex = new Example("docker-bridge");
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(ex.dir, "node_modules"));
  return { ex, stack: new PulumiStack(ex.dir) };
}

test("nslab up, then pulumi stack import of its state: pulumi preview changes nothing, pulumi destroy leaves the kernel as it was", () => {
  const { ex, stack } = copy();
  const up = ex.run("up");
  stack.importFrom(ex.stateDir);
  assert.equal(changes(stack.run("preview")), [], "pulumi preview of nslab's stack");
  const destroy = stack.run("destroy");
  assert.is(destroy.changeSummary.delete, up.changeSummary.create! + 1, "pulumi destroy deletes every resource and the Stack");
  assert.fixture(kernelSnapshot(), ex.pristine, "the kernel after pulumi destroy");
});

test("pulumi up, then pulumi stack export into nslab's state directory: nslab preview changes nothing, nslab destroy leaves the kernel as it was", () => {
  const { ex, stack } = copy();
  const up = stack.run("up");
  stack.exportTo(ex.stateDir);
  assert.equal(changes(ex.run("preview")), [], "nslab preview of pulumi's stack");
  const destroy = ex.run("destroy");
  assert.is(destroy.changeSummary.delete, up.changeSummary.create! - 1, "nslab destroy deletes every resource (its summary leaves out the Stack)");
  assert.fixture(kernelSnapshot(), ex.pristine, "the kernel after nslab destroy");
});

test.run();
