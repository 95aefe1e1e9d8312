import * as fs from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { setCommandHook } from "../../provider/driver/exec";
import { netns } from "../../provider/resources/netns";
import { checked, created, failures, ok, owner, rejects, sh, UNKNOWN } from "../helpers/kernel";

const test = suite("Netns");

test("create, read, update loopback in place, delete, delete again", async () => {
  const inputs = await checked(netns, { name: "red", owner: owner("red") });
  assert.is(inputs.loopback, true);
  const { id, outs } = await created(netns, inputs);
  assert.is(id, "netns:red");
  assert.is(outs.path, "/run/netns/red");
  assert.match(sh("ip", "-n", "red", "link", "show", "dev", "lo"), /UP/);

  const read = await netns.read(id, outs);
  assert.equal(read.props, outs);

  const news = { ...inputs, loopback: false };
  const diff = await netns.diff(id, outs, news);
  assert.equal([diff.changes, diff.replaces], [true, []]);
  const updated = (await netns.update(id, outs, news)).outs!;
  assert.is(updated.identity, outs.identity, "same namespace");
  assert.not.match(sh("ip", "-n", "red", "link", "show", "dev", "lo"), /[<,]UP[,>]/);
  assert.is((await netns.read(id, updated))!.props!.loopback, false);

  await netns.delete(id, updated);
  assert.not.ok(fs.existsSync("/run/netns/red"));
  assert.equal(await netns.read(id, updated), {});
  await netns.delete(id, updated);
});

test("a name change replaces, delete first", async () => {
  const olds = { name: "a", loopback: true, owner: owner("a"), path: "/run/netns/a", identity: "1@1" };
  const d = await netns.diff("netns:a", olds, { ...olds, name: "b" });
  assert.equal([d.replaces, d.deleteBeforeReplace], [["name"], true]);
  const u = await netns.diff("netns:a", olds, { ...olds, name: UNKNOWN });
  assert.equal(u.replaces, ["name"], "an unknown name replaces");
});

test("rejects bad names in check, naming the resource, the value and what is allowed", async () => {
  for (const name of ["a/b", ".", "..", "", "-x", "with space", "col:on", "x".repeat(256)]) {
    const f = await failures(netns, { name, owner: owner("lab") });
    assert.is(f.length, 1, name);
    assert.match(f[0]!, /^name: .* is not valid: /);
  }
  assert.equal(await failures(netns, { name: UNKNOWN, owner: owner("lab") }), [], "unknown values are not validated");
  assert.match((await failures(netns, { name: "ok" })).join(), /owner/);
});

test("refuses a foreign namespace of the same name and never deletes it; adopt takes it over", async () => {
  sh("ip", "netns", "add", "foreign");
  const inputs = await checked(netns, { name: "foreign", owner: owner("f") });
  await rejects(netns.create(inputs), /Netns "f": create: namespace "foreign" already exists and was made by something other than nslab/, /ip netns del foreign/, /adopt: true/);
  const fake = { ...inputs, path: "/run/netns/foreign", identity: "1@1" };
  await netns.delete("netns:foreign", fake);
  assert.ok(fs.existsSync("/run/netns/foreign"), "foreign namespace survives delete");
  assert.equal(await netns.read("netns:foreign", fake), {}, "a foreign namespace is not ours: read reports ours gone");

  const { id, outs } = await created(netns, { ...inputs, adopt: true });
  await netns.delete(id, outs);
  assert.not.ok(fs.existsSync("/run/netns/foreign"));
});

test("another stack's namespace is refused", async () => {
  const { id, outs } = await created(netns, await checked(netns, { name: "shared", owner: owner("s", "stack-a") }));
  await rejects(netns.create(await checked(netns, { name: "shared", owner: owner("s", "stack-b") })), /made by another nslab resource or stack/);
  await netns.delete(id, outs);
});

test("create after a crash between `ip netns add` and the mark adopts its own namespace", async () => {
  const inputs = await checked(netns, { name: "crash", owner: owner("c") });
  setCommandHook((argv) => {
    if (argv.includes("alias")) throw new Error("injected crash");
  });
  await rejects(netns.create(inputs), /injected crash/);
  setCommandHook(undefined);
  assert.ok(fs.existsSync("/run/netns/crash"), "the namespace was left unmarked");
  const { id, outs } = await created(netns, inputs);
  assert.match(sh("ip", "-n", "crash", "link", "show", "dev", "lo"), /alias nslab:/);
  await netns.delete(id, outs);
});

test("a stale /run/netns file is re-created by create and removed by delete", async () => {
  fs.writeFileSync("/run/netns/stale", "");
  const inputs = await checked(netns, { name: "stale", owner: owner("st") });
  assert.equal(await netns.read("netns:stale", { ...inputs, path: "", identity: "0@0" }), {});
  const { id, outs } = await created(netns, inputs);
  assert.ok(ok("ip", "-n", "stale", "link", "show", "dev", "lo"));
  await netns.delete(id, outs);
  fs.writeFileSync("/run/netns/stale", "");
  await netns.delete(id, outs);
  assert.not.ok(fs.existsSync("/run/netns/stale"));
});

test.run();
