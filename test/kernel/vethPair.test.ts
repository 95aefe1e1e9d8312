import { suite } from "uvu";
import * as assert from "uvu/assert";
import { setCommandHook } from "../../provider/driver/exec";
import { linkAlias, linkGroup } from "../../provider/driver/marks";
import { ownerHash } from "../../provider/lib/owner";
import { vethPair, type VethPairInputs, type VethPairOutputs } from "../../provider/resources/vethPair";
import { checked, created, failures, ifindexOf, ok, owner, rejects, sh, tcpLine, UNKNOWN } from "../helpers/kernel";

const test = suite("VethPair");

/** `ip -j -d link show` of one link. */
function link(netns: string | undefined, dev: string): { ifindex: number; mtu: number; address: string; flags: string[]; master?: string; group: string; ifalias?: string } {
  return JSON.parse(sh("ip", ...(netns ? ["-n", netns] : []), "-j", "-d", "link", "show", "dev", dev))[0];
}

const isUpFlag = (netns: string | undefined, dev: string) => link(netns, dev).flags.includes("UP");

async function pair(news: Partial<VethPairInputs>): Promise<{ id: string; outs: VethPairOutputs; inputs: VethPairInputs }> {
  const inputs = await checked(vethPair, news);
  return { ...(await created(vethPair, inputs)), inputs };
}

test("create, read, update mtu, mac, master and up in place keeping the ifindex, delete, delete again", async () => {
  sh("ip", "netns", "add", "b");
  sh("ip", "link", "add", "name", "br0", "type", "bridge");
  const { id, outs, inputs } = await pair({ name: "v0", peerName: "v1", peerNetns: "b", owner: owner("v") });
  assert.is(id, "link:-/v0");
  assert.equal(outs, {
    ...inputs,
    mtu: 1500,
    mac: link(undefined, "v0").address,
    peerMac: link("b", "v1").address,
    up: true,
    ifindex: ifindexOf(undefined, "v0"),
    peerIfindex: ifindexOf("b", "v1"),
  });
  for (const [ns, dev] of [[undefined, "v0"], ["b", "v1"]] as const) {
    assert.is(link(ns, dev).ifalias, linkAlias(ownerHash(inputs.owner)), `${dev} alias`);
    assert.is(link(ns, dev).group, String(linkGroup(ownerHash(inputs.owner))), `${dev} group`);
    assert.ok(isUpFlag(ns, dev), `${dev} up`);
  }
  assert.equal((await vethPair.read(id, outs)).props, outs, "read equals what was asked");

  const news = { ...inputs, mtu: 9000, mac: "02:00:00:00:00:aa", peerMac: "02:00:00:00:00:bb", master: "br0", up: false };
  const diff = await vethPair.diff(id, outs, news);
  assert.equal([diff.changes, diff.replaces], [true, []]);
  const updated = (await vethPair.update(id, outs, news)).outs!;
  assert.equal([updated.ifindex, updated.peerIfindex], [outs.ifindex, outs.peerIfindex], "same links");
  assert.equal([link(undefined, "v0").mtu, link("b", "v1").mtu], [9000, 9000], "mtu applies to both ends");
  assert.equal([link(undefined, "v0").address, link("b", "v1").address], ["02:00:00:00:00:aa", "02:00:00:00:00:bb"]);
  assert.is(link(undefined, "v0").master, "br0");
  assert.equal([isUpFlag(undefined, "v0"), isUpFlag("b", "v1")], [false, false], "up applies to both ends");
  assert.equal(updated, { ...outs, ...news }, "outputs report the new settings");
  assert.equal((await vethPair.read(id, updated)).props, updated);
  assert.is((await vethPair.diff(id, updated, news)).changes, false, "nothing left to change");

  await vethPair.delete(id, updated);
  assert.not.ok(ok("ip", "link", "show", "dev", "v0"));
  assert.not.ok(ok("ip", "-n", "b", "link", "show", "dev", "v1"));
  assert.equal(await vethPair.read(id, updated), {});
  await vethPair.delete(id, updated);
  sh("ip", "link", "del", "dev", "br0");
  sh("ip", "netns", "del", "b");
});

test("places each end in its namespace: host and namespace either way, one namespace, two namespaces", async () => {
  sh("ip", "netns", "add", "a");
  sh("ip", "netns", "add", "b");
  const cases: [string | undefined, string | undefined][] = [[undefined, "a"], ["a", undefined], ["a", "a"], ["a", "b"], [undefined, undefined]];
  for (const [netns, peerNetns] of cases) {
    const { id, outs } = await pair({ name: "e0", peerName: "e1", netns, peerNetns, owner: owner("p") });
    assert.is(id, `link:${netns ?? "-"}/e0`);
    assert.equal([outs.ifindex, outs.peerIfindex], [ifindexOf(netns, "e0"), ifindexOf(peerNetns, "e1")], `${netns}/${peerNetns}`);
    assert.equal((await vethPair.read(id, outs)).props, outs);
    await vethPair.delete(id, outs);
    assert.not.ok(ok("ip", ...(peerNetns ? ["-n", peerNetns] : []), "link", "show", "dev", "e1"), "the peer went with it");
  }
  sh("ip", "netns", "del", "a");
  sh("ip", "netns", "del", "b");
});

test("names that are ip keywords are created literally (B5)", async () => {
  sh("ip", "netns", "add", "k");
  const { id, outs } = await pair({ name: "type", peerName: "up", peerNetns: "k", owner: owner("kw") });
  assert.ok(ok("ip", "link", "show", "dev", "type"));
  assert.ok(ok("ip", "-n", "k", "link", "show", "dev", "up"));
  await vethPair.delete(id, outs);
  sh("ip", "netns", "del", "k");
});

test("the diff replaces on names, namespaces and their identities, delete first; settings update in place", async () => {
  const olds = { name: "v0", peerName: "v1", netns: "a", netnsIdentity: "1a1a1a1a1a1a1a1a", peerNetns: "b", peerNetnsIdentity: "2a2a2a2a2a2a2a2a", up: true, owner: owner("d"), mtu: 1500, mac: "02:00:00:00:00:01", peerMac: "02:00:00:00:00:02", master: "br0", masterIdentity: "5a5a5a5a5a5a5a5a", peerMaster: "br1", peerMasterIdentity: "6a6a6a6a6a6a6a6a", ifindex: 3, peerIfindex: 4 };
  for (const [key, value] of [["name", "x"], ["peerName", "x"], ["netns", "c"], ["netns", undefined], ["peerNetns", "c"], ["netnsIdentity", "9a9a9a9a9a9a9a9a"], ["peerNetnsIdentity", "9a9a9a9a9a9a9a9a"], ["name", UNKNOWN]] as const) {
    const d = await vethPair.diff("link:a/v0", olds, { ...olds, [key]: value });
    assert.equal([d.changes, d.replaces, d.deleteBeforeReplace], [true, [key], true], `${key} -> ${value}`);
  }
  for (const [key, value] of [["mtu", 9000], ["mac", "02:00:00:00:00:09"], ["peerMac", "02:00:00:00:00:09"], ["master", "br9"], ["masterIdentity", "9a9a9a9a9a9a9a9a"], ["peerMaster", "br9"], ["peerMasterIdentity", "9a9a9a9a9a9a9a9a"], ["up", false], ["mtu", UNKNOWN]] as const) {
    const d = await vethPair.diff("link:a/v0", olds, { ...olds, [key]: value });
    assert.equal([d.changes, d.replaces], [true, []], `${key} -> ${value}`);
  }
  for (const key of ["mtu", "mac", "master", "peerMaster"]) {
    const d = await vethPair.diff("link:a/v0", olds, { ...olds, [key]: undefined });
    assert.is(d.changes, false, `removing ${key} stops managing it`);
  }
});

test("rejects bad input in check with every failure at once, spawning nothing (B1-B6, B14, MACs)", async () => {
  const spawned: string[] = [];
  setCommandHook((argv) => void spawned.push(argv.join(" ")));
  const base = { name: "v0", peerName: "v1", owner: owner("lab") };
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ name: "abcdefghijklmnop" }, "name", /"abcdefghijklmnop" is not valid: it is 16 bytes long; the kernel allows at most 15/],
    [{ name: "üüüüüüüü" }, "name", /16 bytes long/],
    ...["a/b", "a b", "a\tb", "a:b", ".", "..", "a%d", "a\u0001b", 'a"b', "a;b", "a$b", "a*b", "-x"].map(
      (n): [Record<string, unknown>, string, RegExp] => [{ peerName: n }, "peerName", /is not valid: use 1-15 characters from A-Z a-z 0-9 _ \. -/],
    ),
    [{ name: "" }, "name", /name: "" is not valid: it is required/],
    [{ name: "all" }, "name", /clashes with \/proc\/sys\/net\/\*\/conf\/all/],
    [{ peerName: "default" }, "peerName", /clashes with/],
    [{ peerName: undefined }, "peerName", /peerName: \(unset\) is not valid: it is required/],
    [{ master: "a/b" }, "master", /use 1-15 characters/],
    [{ peerMaster: "x".repeat(16) }, "peerMaster", /16 bytes long/],
    [{ masterIdentity: "" }, "masterIdentity", /masterIdentity: "" is not valid: use a non-empty string: the incarnation of the resource passed as master/],
    [{ peerMasterIdentity: 6 }, "peerMasterIdentity", /peerMasterIdentity: 6 is not valid: use a non-empty string: the incarnation of the resource passed as peerMaster/],
    [{ netns: "a/b" }, "netns", /netns: "a\/b" is not valid: use 1-255 characters/],
    [{ peerNetns: "-x" }, "peerNetns", /use 1-255 characters/],
    [{ mtu: 67 }, "mtu", /mtu: 67 is not valid: use an integer from 68 to 65535 bytes/],
    [{ mtu: 65536 }, "mtu", /use an integer from 68 to 65535/],
    [{ mtu: -1 }, "mtu", /use an integer from 68 to 65535/],
    [{ mtu: 1500.5 }, "mtu", /use an integer from 68 to 65535/],
    [{ mtu: "1500" }, "mtu", /mtu: "1500" is not valid: use an integer/],
    [{ mac: "02:AA:00:00:00:01" }, "mac", /write it in canonical form: "02:aa:00:00:00:01"/],
    [{ mac: "2:0:0:0:0:1" }, "mac", /canonical form: "02:00:00:00:00:01"/],
    [{ peerMac: "02-00-00-00-00-01" }, "peerMac", /canonical form: "02:00:00:00:00:01"/],
    [{ peerMac: "01:00:5e:00:00:01" }, "peerMac", /multicast address/],
    [{ mac: "00:00:00:00:00:00" }, "mac", /all-zero address/],
    [{ mac: "zz" }, "mac", /use 6 lower-case hex bytes/],
    [{ peerName: "v0" }, "peerName", /both ends are in the host namespace, where one name can belong to one link only/],
    [{ netns: "a", peerNetns: "a", peerName: "v0" }, "peerName", /both ends are in namespace "a"/],
    [{ up: "yes" }, "up", /up: "yes" is not valid: use true or false/],
    [{ adopt: 1 }, "adopt", /use true or false/],
  ];
  for (const [change, property, re] of cases) {
    const f = await failures(vethPair, { ...base, ...change });
    assert.is(f.length, 1, `${JSON.stringify(change)}: ${f.join("; ")}`);
    assert.ok(f[0]!.startsWith(`${property}: `), f[0]);
    assert.match(f[0]!, re);
  }
  const all = await failures(vethPair, { ...base, name: "a/b", mtu: 1, mac: "x", up: 3 });
  assert.equal(all.map((f) => f.split(":")[0]), ["name", "mtu", "mac", "up"], "every failure at once");
  assert.equal(await failures(vethPair, { ...base, peerNetns: "b", peerName: "v0" }), [], "one name in two namespaces is fine");
  assert.equal(await failures(vethPair, { ...base, name: UNKNOWN, peerName: UNKNOWN, mtu: UNKNOWN, mac: UNKNOWN, netns: UNKNOWN, master: UNKNOWN }), [], "unknown values are not validated");
  assert.is((await vethPair.check({} as VethPairInputs, base as VethPairInputs)).inputs!.up, true, "up defaults to true");
  setCommandHook(undefined);
  assert.equal(spawned, [], "check spawns nothing");
});

test("fails at create when a master is not a bridge in that end's namespace, creating nothing", async () => {
  sh("ip", "netns", "add", "m");
  sh("ip", "-n", "m", "link", "add", "name", "brm", "type", "bridge");
  sh("ip", "link", "add", "name", "notbr", "type", "veth", "peer", "name", "notbr1");
  const base = { name: "v0", peerName: "v1", peerNetns: "m", owner: owner("mst") };
  await rejects(vethPair.create(await checked(vethPair, { ...base, master: "nosuch" })), /VethPair "mst": create: master "nosuch" is not a bridge in the host namespace \(there is no link of that name there\)/, /pass the resource itself as master/);
  await rejects(vethPair.create(await checked(vethPair, { ...base, master: "brm" })), /master "brm" is not a bridge in the host namespace/);
  await rejects(vethPair.create(await checked(vethPair, { ...base, master: "notbr" })), /master "notbr" is not a bridge in the host namespace \(it is a veth\)/);
  await rejects(vethPair.create(await checked(vethPair, { ...base, peerMaster: "nosuch" })), /peerMaster "nosuch" is not a bridge in namespace "m"/);
  assert.not.ok(ok("ip", "link", "show", "dev", "v0"), "nothing created");
  const { id, outs } = await pair({ ...base, peerMaster: "brm" });
  assert.is(outs.peerMaster, "brm");
  assert.is(link("m", "v1").master, "brm");
  await vethPair.delete(id, outs);
  sh("ip", "link", "del", "dev", "notbr");
  sh("ip", "netns", "del", "m");
});

test("fails with the missing namespace named when netns or peerNetns does not exist", async () => {
  await rejects(vethPair.create(await checked(vethPair, { name: "v0", peerName: "v1", peerNetns: "nosuch", owner: owner("nons") })), /VethPair "nons": create: peerNetns: namespace "nosuch" does not exist; create it first/);
  await rejects(vethPair.create(await checked(vethPair, { name: "v0", peerName: "v1", netns: "nosuch", owner: owner("nons") })), /netns: namespace "nosuch" does not exist/);
  assert.not.ok(ok("ip", "link", "show", "dev", "v1"));
});

test("create after a crash between `ip link add` and the alias adopts its own pair", async () => {
  sh("ip", "netns", "add", "c");
  const inputs = await checked(vethPair, { name: "v0", peerName: "v1", peerNetns: "c", owner: owner("crash") });
  let dead = false;
  setCommandHook((argv) => {
    if (dead) throw new Error("injected crash");
    if (argv.includes("add")) dead = true; // every command after `ip link add` fails, rollback included
  });
  await rejects(vethPair.create(inputs), /VethPair "crash": create: "v0" was created but not set up, and removing it failed: injected crash/);
  setCommandHook(undefined);
  const left = link(undefined, "v0");
  assert.equal([left.group, left.ifalias], [String(linkGroup(ownerHash(inputs.owner))), undefined], "the pair was left with the group mark only");
  const { id, outs } = await created(vethPair, inputs);
  assert.is(outs.ifindex, left.ifindex, "the same pair was adopted");
  assert.is(link(undefined, "v0").ifalias, linkAlias(ownerHash(inputs.owner)));
  assert.ok(isUpFlag("c", "v1"));
  await vethPair.delete(id, outs);
  sh("ip", "netns", "del", "c");
});

test("a failed setup removes the pair it created, and create again makes it", async () => {
  const inputs = await checked(vethPair, { name: "v0", peerName: "v1", owner: owner("undo") });
  let failed = false;
  setCommandHook((argv) => {
    if (!failed && argv.includes("alias")) {
      failed = true;
      throw new Error("injected failure");
    }
  });
  await rejects(vethPair.create(inputs), /VethPair "undo": create: injected failure/);
  setCommandHook(undefined);
  assert.not.ok(ok("ip", "link", "show", "dev", "v0"), "rolled back");
  const { id, outs } = await created(vethPair, inputs);
  await vethPair.delete(id, outs);
});

test("create after a crash that left our own links in another shape removes them and creates the pair", async () => {
  // Our group mark without an alias, but the peer is not the one asked for.
  sh("ip", "link", "add", "name", "v0", "group", String(linkGroup(ownerHash(owner("shape")))), "type", "veth", "peer", "name", "stray");
  const { id, outs } = await pair({ name: "v0", peerName: "v1", owner: owner("shape") });
  assert.not.ok(ok("ip", "link", "show", "dev", "stray"));
  assert.is(outs.peerIfindex, ifindexOf(undefined, "v1"));
  await vethPair.delete(id, outs);
});

test("refuses a foreign pair of the same name and never deletes it; adopt: true takes it over", async () => {
  sh("ip", "netns", "add", "f");
  sh("ip", "link", "add", "name", "v0", "type", "veth", "peer", "name", "v1", "netns", "f");
  const before = ifindexOf(undefined, "v0");
  const inputs = await checked(vethPair, { name: "v0", peerName: "v1", peerNetns: "f", owner: owner("foreign") });
  await rejects(vethPair.create(inputs), /VethPair "foreign": create: "v0" already exists in the host namespace and was made by something other than nslab/, /remove it with: ip link del dev v0/, /adopt: true/);
  const fake = { ...inputs, ifindex: before, peerIfindex: 0 };
  assert.equal(await vethPair.read("link:-/v0", fake), {}, "a foreign pair is not ours");
  await vethPair.delete("link:-/v0", fake);
  assert.is(ifindexOf(undefined, "v0"), before, "the foreign pair survives delete");

  const { id, outs } = await created(vethPair, { ...inputs, adopt: true, mtu: 1400 });
  assert.is(outs.ifindex, before, "adopted, not re-created");
  assert.equal([link(undefined, "v0").mtu, link("f", "v1").mtu], [1400, 1400]);
  assert.is(link("f", "v1").ifalias, linkAlias(ownerHash(inputs.owner)));
  await vethPair.delete(id, outs);
  assert.not.ok(ok("ip", "link", "show", "dev", "v0"));
  sh("ip", "netns", "del", "f");
});

test("refuses with adopt a foreign veth whose peer is not the one asked for", async () => {
  sh("ip", "link", "add", "name", "v0", "type", "veth", "peer", "name", "other");
  await rejects(vethPair.create(await checked(vethPair, { name: "v0", peerName: "v1", adopt: true, owner: owner("mis") })), /"v0" in the host namespace is a veth whose peer is not "v1" in the host namespace; adopt takes over only that exact pair/);
  assert.ok(ok("ip", "link", "show", "dev", "other"), "never deleted");
  sh("ip", "link", "del", "dev", "v0");
});

test("refuses a link of the wrong kind and never deletes it (I4)", async () => {
  sh("ip", "link", "add", "name", "v0", "type", "bridge");
  for (const adopt of [false, true]) {
    await rejects(vethPair.create(await checked(vethPair, { name: "v0", peerName: "v1", adopt, owner: owner("kind") })), /VethPair "kind": create: "v0" already exists but is not a veth \(it is a bridge in the host namespace\); choose another name, or remove it with: ip link del dev v0/);
  }
  assert.ok(ok("ip", "link", "show", "dev", "v0"));
  assert.not.ok(ok("ip", "link", "show", "dev", "v1"));
  sh("ip", "link", "del", "dev", "v0");
});

test("refuses another stack's pair", async () => {
  const { id, outs } = await pair({ name: "v0", peerName: "v1", owner: owner("s", "stack-a") });
  await rejects(vethPair.create(await checked(vethPair, { name: "v0", peerName: "v1", owner: owner("s", "stack-b") })), /"v0" already exists in the host namespace and was made by another nslab resource or stack/);
  const other = { ...outs, owner: owner("s", "stack-b") };
  assert.equal(await vethPair.read(id, other), {});
  await vethPair.delete(id, other);
  assert.ok(ok("ip", "link", "show", "dev", "v0"), "another stack's delete leaves it");
  await vethPair.delete(id, outs);
});

test("refuses host-critical names in the host namespace only (B23)", async () => {
  await rejects(vethPair.create(await checked(vethPair, { name: "eth0", peerName: "v1", owner: owner("crit") })), /VethPair "crit": create: name: "eth0" is a host-critical link \(lo, eth0, docker0, cni0\) in the host namespace; nslab never creates, adopts or deletes it/);
  await rejects(vethPair.create(await checked(vethPair, { name: "v0", peerName: "docker0", owner: owner("crit") })), /peerName: "docker0" is a host-critical link/);
  // The device of the host's default route: refused even with adopt.
  sh("ip", "link", "add", "name", "up0", "type", "veth", "peer", "name", "up1");
  sh("ip", "link", "set", "dev", "up0", "up");
  sh("ip", "route", "add", "default", "dev", "up0");
  await rejects(vethPair.create(await checked(vethPair, { name: "up0", peerName: "up1", adopt: true, owner: owner("crit") })), /name: "up0" is the device of the host's default route in the host namespace/);
  assert.ok(ok("ip", "link", "show", "dev", "up0"));
  sh("ip", "link", "del", "dev", "up0");
  sh("ip", "netns", "add", "lab");
  const { id, outs } = await pair({ name: "eth0", peerName: "v1", netns: "lab", owner: owner("crit") });
  assert.ok(ok("ip", "-n", "lab", "link", "show", "dev", "eth0"), "eth0 inside a lab namespace is normal");
  await vethPair.delete(id, outs);
  sh("ip", "netns", "del", "lab");
});

test("read reports drift: an end deleted (D1), moved away (D6), down (D4), master changed or removed (D3), MTU changed (D9)", async () => {
  sh("ip", "netns", "add", "b");
  sh("ip", "netns", "add", "other");
  sh("ip", "link", "add", "name", "br0", "type", "bridge");
  sh("ip", "link", "add", "name", "br1", "type", "bridge");
  const { id, outs, inputs } = await pair({ name: "v0", peerName: "v1", peerNetns: "b", master: "br0", owner: owner("drift") });
  assert.is(outs.master, "br0");

  sh("ip", "link", "set", "dev", "v0", "nomaster");
  let read = (await vethPair.read(id, outs)).props!;
  assert.is(read.master, undefined, "D3: no master");
  sh("ip", "link", "set", "dev", "v0", "master", "br1");
  read = (await vethPair.read(id, outs)).props!;
  assert.is(read.master, "br1", "D3: another master");
  assert.equal((await vethPair.diff(id, read, inputs)).replaces, []);
  read = (await vethPair.update(id, read, inputs)).outs!;
  assert.is(link(undefined, "v0").master, "br0", "update re-enslaves");

  sh("ip", "-n", "b", "link", "set", "dev", "v1", "down");
  read = (await vethPair.read(id, outs)).props!;
  assert.is(read.up, false, "D4: one end down");
  read = (await vethPair.update(id, read, inputs)).outs!;
  assert.ok(isUpFlag("b", "v1"));

  sh("ip", "-n", "b", "link", "set", "dev", "v1", "mtu", "1400");
  read = (await vethPair.read(id, outs)).props!;
  assert.is(read.mtu, undefined, "D9: ends whose MTUs differ report no one MTU (T10)");
  assert.is((await vethPair.diff(id, read, inputs)).changes, false, "an unmanaged MTU is not changed back");
  read = (await vethPair.update(id, read, { ...inputs, mtu: 1500 })).outs!;
  assert.equal([link(undefined, "v0").mtu, link("b", "v1").mtu, read.mtu], [1500, 1500, 1500]);

  sh("ip", "link", "set", "dev", "v0", "netns", "other");
  assert.equal(await vethPair.read(id, outs), {}, "D6: moved away from its place");
  await vethPair.delete(id, outs);
  assert.ok(ok("ip", "-n", "other", "link", "show", "dev", "v0"), "delete works from the id: the moved end is not at its place");
  // create again converges: the peer still holds its name, ours, paired elsewhere: re-made.
  const again = await created(vethPair, inputs);
  assert.not.ok(ok("ip", "-n", "other", "link", "show", "dev", "v0"));
  sh("ip", "link", "del", "dev", "v0");
  assert.equal(await vethPair.read(again.id, again.outs), {}, "D1: an end deleted");
  await vethPair.delete(again.id, again.outs);
  for (const br of ["br0", "br1"]) sh("ip", "link", "del", "dev", br);
  sh("ip", "netns", "del", "b");
  sh("ip", "netns", "del", "other");
});

test("a re-created bridge (a new masterIdentity) updates in place and re-enslaves the end", async () => {
  sh("ip", "link", "add", "name", "br0", "type", "bridge");
  const { id, outs, inputs } = await pair({ name: "v0", peerName: "v1", master: "br0", masterIdentity: "0b0b0b0b0b0b0b01", owner: owner("reb") });
  sh("ip", "link", "del", "dev", "br0");
  sh("ip", "link", "add", "name", "br0", "type", "bridge");
  const news = { ...inputs, masterIdentity: "0b0b0b0b0b0b0b02" };
  const read = (await vethPair.read(id, outs)).props!;
  const d = await vethPair.diff(id, read, news);
  assert.equal([d.changes, d.replaces], [true, []]);
  const updated = (await vethPair.update(id, read, news)).outs!;
  assert.equal([updated.master, updated.masterIdentity, updated.ifindex], ["br0", "0b0b0b0b0b0b0b02", outs.ifindex]);
  assert.is(link(undefined, "v0").master, "br0");
  await vethPair.delete(id, updated);
  sh("ip", "link", "del", "dev", "br0");
});

/** Sends a line over TCP from one namespace to a listener in another; returns what arrived. */
test("carries ping and TCP between two namespaces", async () => {
  sh("ip", "netns", "add", "a");
  sh("ip", "netns", "add", "b");
  for (const ns of ["a", "b"]) sh("ip", "-n", ns, "link", "set", "dev", "lo", "up");
  const { id, outs } = await pair({ name: "eth0", netns: "a", peerName: "eth0", peerNetns: "b", owner: owner("traffic") });
  sh("ip", "-n", "a", "addr", "add", "10.0.0.1/24", "dev", "eth0");
  sh("ip", "-n", "b", "addr", "add", "10.0.0.2/24", "dev", "eth0");
  assert.match(sh("ip", "netns", "exec", "a", "ping", "-c", "1", "-W", "2", "10.0.0.2"), /1 received/);
  assert.is(await tcpLine("a", "b", "10.0.0.2", "hello over tcp\n"), "hello over tcp\n");
  await vethPair.delete(id, outs);
  assert.not.ok(ok("ip", "netns", "exec", "a", "ping", "-c", "1", "-W", "1", "10.0.0.2"), "no path once deleted");
  sh("ip", "netns", "del", "a");
  sh("ip", "netns", "del", "b");
});

test("measures the median time of one create and one delete", async () => {
  sh("ip", "netns", "add", "t");
  const inputs = await checked(vethPair, { name: "t0", peerName: "t1", peerNetns: "t", owner: owner("time") });
  const creates: number[] = [];
  const deletes: number[] = [];
  for (let i = 0; i < 10; i++) {
    let t = performance.now();
    const { id, outs } = await created(vethPair, inputs);
    creates.push(performance.now() - t);
    t = performance.now();
    await vethPair.delete(id, outs);
    deletes.push(performance.now() - t);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  console.log(`VethPair (host <-> namespace): median create ${median(creates).toFixed(1)} ms, delete ${median(deletes).toFixed(1)} ms`);
  assert.ok(median(creates) < 1000 && median(deletes) < 1000);
  sh("ip", "netns", "del", "t");
});

test.run();
