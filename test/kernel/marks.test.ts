import { suite } from "uvu";
import * as assert from "uvu/assert";
import { providers } from "../../provider";
import { addressLabel, linkGroup } from "../../provider/driver/marks";
import { ownerHash, type Owner } from "../../provider/lib/owner";
import { checked, created, owner, rejects, sh } from "../helpers/kernel";

// Ownership marks that identify the owner, not just nslab: an address or a route is another
// owner's unless nslab's record says it is this resource's (a crash right after the add still
// converges), whatever label or protocol it carries.

const test = suite("marks");
const { Address: address, Route: route } = providers;

test.before(() => {
  sh("ip", "link", "add", "name", "m-veth-twelve", "type", "veth", "peer", "name", "m-peer");
  sh("ip", "link", "add", "name", "m-twelvechar", "type", "veth", "peer", "name", "m-peer2");
  for (const dev of ["m-veth-twelve", "m-peer", "m-twelvechar", "m-peer2"]) sh("ip", "link", "set", "dev", dev, "up");
});

test.after(() => {
  sh("ip", "link", "del", "dev", "m-veth-twelve");
  sh("ip", "link", "del", "dev", "m-twelvechar");
});

test("a create retried after a crash right after the add takes its own address: IPv6, and IPv4 on a 13-character device (T1)", async () => {
  for (const a of ["2001:db8:1::1/64", "10.71.0.1/24"]) {
    const inputs = await checked(address, { device: "m-veth-twelve", address: a, owner: owner(`crash-${a}`) });
    await address.create(inputs); // the run is killed here: its state never records the address
    const { id, outs } = await created(address, inputs);
    assert.equal(await address.read(id, outs), { id, props: outs });
    await address.delete(id, outs);
    assert.not.match(sh("ip", "addr", "show", "dev", "m-veth-twelve"), a.split("/")[0]!);
  }
});

/** Two owners of different projects whose label on a 12-character device is the same. */
function labelTwins(device: string): [Owner, Owner] {
  const first: Owner = { project: "labelone", stack: "dev", path: ["addr"] };
  const label = addressLabel(device, ownerHash(first));
  for (let i = 0; ; i++) {
    const other: Owner = { project: `labeltwo${i}`, stack: "dev", path: ["addr"] };
    if (addressLabel(device, ownerHash(other)) === label) return [first, other];
  }
}

test("an address with another project's label of the same two characters is not taken, nor deleted (T4)", async () => {
  const [p1, p2] = labelTwins("m-twelvechar");
  const one = await created(address, await checked(address, { device: "m-twelvechar", address: "10.72.0.1/24", owner: p1 }));
  const theirs = await checked(address, { device: "m-twelvechar", address: "10.72.0.1/24", owner: p2 });
  await rejects(address.create(theirs), /already exists on "m-twelvechar" .* made by nslab for another resource\. /);
  await address.delete("addr:-/m-twelvechar/10.72.0.1/24", { ...theirs, label: one.outs.label });
  assert.match(sh("ip", "addr", "show", "dev", "m-twelvechar"), /10\.72\.0\.1\/24/, "P2's destroy left P1's address");
  assert.equal(await address.read("x", { ...theirs, label: one.outs.label }), {}, "P2 does not read it as its own");
  await address.delete(one.id, one.outs);
  assert.not.match(sh("ip", "addr", "show", "dev", "m-twelvechar"), /10\.72\.0\.1/);
});

test("a route marked proto 199 by another owner, or by hand, is not taken, nor deleted (T2)", async () => {
  sh("ip", "addr", "add", "10.73.0.1/24", "dev", "m-peer");
  const spec = { destination: "10.74.0.0/16", via: "10.73.0.2" };
  const p1 = await created(route, await checked(route, { ...spec, owner: { project: "p1", stack: "dev", path: ["r"] } }));
  const p2 = await checked(route, { ...spec, owner: { project: "p2", stack: "dev", path: ["r"] } });
  await rejects(route.create(p2), /already exists .* made by another nslab resource or stack/);
  await route.delete(p1.id, p2);
  assert.match(sh("ip", "route", "show", "10.74.0.0/16"), /via 10\.73\.0\.2 .*proto 199/, "P2's destroy left P1's route");
  await route.delete(p1.id, p1.outs);
  assert.is(sh("ip", "route", "show", "10.74.0.0/16"), "");
  sh("ip", "route", "add", "10.75.0.0/16", "via", "10.73.0.2", "proto", "199");
  const mine = await checked(route, { destination: "10.75.0.0/16", via: "10.73.0.2", owner: owner("r-hand") });
  await rejects(route.create(mine), /already exists .* proto 199\) and was not made by nslab for this resource/);
  const adopted = await created(route, { ...mine, adopt: true });
  await route.delete(adopted.id, adopted.outs);
  assert.is(sh("ip", "route", "show", "10.75.0.0/16"), "");
});

test("a namespace deleted and made again by hand under nslab's name is not ours: read gone, create refused, delete leaves it (T5)", async () => {
  const inputs = await checked(providers.Netns, { name: "m5", owner: owner("m5") });
  const { id, outs } = await created(providers.Netns, inputs);
  sh("ip", "netns", "del", "m5");
  sh("ip", "netns", "add", "m5");
  sh("ip", "-n", "m5", "link", "add", "name", "theirs", "type", "veth", "peer", "name", "theirs-peer");
  assert.equal(await providers.Netns.read(id, outs), {}, "refresh: ours is gone");
  await rejects(providers.Netns.create(inputs), /namespace "m5" already exists and was made by something other than nslab/);
  await providers.Netns.delete(id, outs);
  assert.match(sh("ip", "-n", "m5", "link", "show", "dev", "theirs"), /theirs@theirs-peer/, "the foreign namespace and its links are left");
  sh("ip", "netns", "del", "m5");
});

test("a veth made by hand with nslab's old group 28275, or another owner's group, and no alias is not taken, nor deleted (T3)", async () => {
  for (const group of [28275, linkGroup(ownerHash(owner("someone-else")))]) {
    sh("ip", "link", "add", "name", "m3", "group", String(group), "type", "veth", "peer", "name", "m3-peer");
    const inputs = await checked(providers.VethPair, { name: "m3", peerName: "m3-peer", owner: owner("m3") });
    await rejects(providers.VethPair.create(inputs), /"m3" already exists in the host namespace and was made by something other than nslab/);
    await providers.VethPair.delete("link:-/m3", { ...inputs, ifindex: 0, peerIfindex: 0, up: false, mtu: 1500 } as never);
    assert.match(sh("ip", "link", "show", "dev", "m3"), new RegExp(`group ${group}`), "left as it was");
    sh("ip", "link", "del", "dev", "m3");
  }
});

test.run();
