import { test } from "uvu";
import * as assert from "uvu/assert";
import { CommandError, forResource, NslabError, PartialCreateError, withResource } from "../../provider/errors";

// A resource's error (provider/errors.ts): a new error that names the kind, the resource and the
// action, with the original as its cause, untouched; the code and a partial create's id survive.

const OWNER = { project: "lab", stack: "dev", path: ["lan", "br0"] };

test("forResource makes a new error, names the resource first, keeps the code and the original as cause", () => {
  const original = new CommandError("ALREADY_EXISTS", ["ip", "link", "add", "br0"], 2, "RTNETLINK answers: File exists");
  const text = original.message;
  const err = forResource("Bridge", "br0", "create", original);
  assert.is.not(err, original);
  assert.is(original.message, text, "the original is not rewritten");
  assert.is(err.message, `Bridge "br0": create: ${text}`);
  assert.ok(err.stack?.includes(`Bridge "br0": create: command failed`), "the stack shows the new message");
  assert.is(err.cause, original);
  assert.ok(NslabError.is(err, "ALREADY_EXISTS"));
});

test("a partial create stays one, with its id and properties (the host records it with initErrors)", () => {
  const original = new PartialCreateError("made but not set up", "link:-/br0", { name: "br0" }, ["mtu"]);
  const err = forResource("Bridge", "br0", "create", original);
  assert.instance(err, PartialCreateError);
  const partial = err as PartialCreateError;
  assert.equal([partial.id, partial.properties, partial.reasons], ["link:-/br0", { name: "br0" }, ["mtu"]]);
});

test("withResource passes a result through and rethrows a failure as forResource's error", async () => {
  assert.is(await withResource("Netns", OWNER, "update", async () => 7), 7);
  const original = new Error("boom");
  try {
    await withResource("Netns", OWNER, "delete", async () => {
      throw original;
    });
    assert.unreachable("it throws");
  } catch (err) {
    assert.is((err as Error).message, 'Netns "br0": delete: boom');
    assert.is((err as Error).cause, original);
  }
});

test.run();
