import { suite } from "uvu";
import * as assert from "uvu/assert";
import { setCommandHook } from "../../provider/driver/exec";
import { linkAlias, linkGroup } from "../../provider/driver/marks";
import { ownerHash } from "../../provider/lib/owner";
import { bridge, type BridgeInputs, type BridgeOutputs } from "../../provider/resources/bridge";
import { vethPair } from "../../provider/resources/vethPair";
import { checked, created, failures, ifindexOf, ok, owner, rejects, sh, tcpLine, UNKNOWN } from "../helpers/kernel";

const test = suite("Bridge");

interface Shown {
  ifindex: number;
  mtu: number;
  address: string;
  flags: string[];
  group: string;
  ifalias?: string;
  linkinfo: { info_kind: string; info_data: { stp_state: number; forward_delay: number } };
}

function link(netns: string | undefined, dev: string): Shown {
  return JSON.parse(sh("ip", ...(netns ? ["-n", netns] : []), "-j", "-d", "link", "show", "dev", dev))[0];
}

async function made(news: Partial<BridgeInputs>): Promise<{ id: string; outs: BridgeOutputs; inputs: BridgeInputs }> {
  const inputs = await checked(bridge, news);
  return { ...(await created(bridge, inputs)), inputs };
}

test("create, read, update mtu, stp and up in place keeping the ifindex, delete, delete again", async () => {
  sh("ip", "netns", "add", "n");
  const { id, outs, inputs } = await made({ name: "br0", netns: "n", owner: owner("br") });
  assert.is(id, "link:n/br0");
  const shown = link("n", "br0");
  assert.match(outs.mac, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/, "locally administered unicast");
  assert.equal(outs, { ...inputs, mtu: 1500, stp: false, up: true, ifindex: shown.ifindex, mac: shown.address });
  assert.equal([shown.ifalias, shown.group, shown.flags.includes("UP")], [linkAlias(ownerHash(inputs.owner)), String(linkGroup(ownerHash(inputs.owner))), true]);
  assert.equal((await bridge.read(id, outs)).props, outs, "read equals what was asked");

  const news = { ...inputs, mtu: 9000, stp: true, up: false };
  const diff = await bridge.diff(id, outs, news);
  assert.equal([diff.changes, diff.replaces], [true, []]);
  const updated = (await bridge.update(id, outs, news)).outs!;
  const after = link("n", "br0");
  assert.equal([after.ifindex, after.mtu, after.flags.includes("UP")], [outs.ifindex, 9000, false]);
  assert.equal([after.linkinfo.info_data.stp_state, after.linkinfo.info_data.forward_delay], [1, 200], "STP on with the shortest forward delay");
  assert.equal(updated, { ...outs, ...news });
  assert.equal((await bridge.read(id, updated)).props, updated);
  const off = (await bridge.update(id, updated, { ...news, stp: false, up: true })).outs!;
  assert.equal([off.stp, off.up, link("n", "br0").linkinfo.info_data.stp_state], [false, true, 0]);

  await bridge.delete(id, off);
  assert.not.ok(ok("ip", "-n", "n", "link", "show", "dev", "br0"));
  assert.equal(await bridge.read(id, off), {});
  await bridge.delete(id, off);
  sh("ip", "netns", "del", "n");
});

test("creates with stp and mtu given, and a given mtu stays whatever the ports' MTUs", async () => {
  const { id, outs } = await made({ name: "br0", mtu: 1500, stp: true, owner: owner("pin") });
  assert.equal([outs.mtu, outs.stp, link(undefined, "br0").linkinfo.info_data.forward_delay], [1500, true, 200]);
  sh("ip", "link", "add", "name", "p0", "mtu", "9000", "master", "br0", "type", "veth", "peer", "name", "p1");
  assert.is(link(undefined, "br0").mtu, 1500, "not raised to the port's 9000");
  assert.equal((await bridge.read(id, outs)).props, outs);
  sh("ip", "link", "del", "dev", "p0");
  await bridge.delete(id, outs);
});

test("the MAC is deterministic and stays pinned when ports come and go", async () => {
  const { id, outs, inputs } = await made({ name: "br0", owner: owner("mac") });
  sh("ip", "link", "add", "name", "p0", "master", "br0", "type", "veth", "peer", "name", "p1");
  assert.is(link(undefined, "br0").address, outs.mac, "a port does not change it");
  sh("ip", "link", "set", "dev", "p0", "nomaster");
  assert.is(link(undefined, "br0").address, outs.mac, "still pinned after its last port left");
  assert.is.not(outs.mac, "00:00:00:00:00:00");
  sh("ip", "link", "del", "dev", "p0");
  await bridge.delete(id, outs);
  const again = await created(bridge, inputs);
  assert.is(again.outs.mac, outs.mac, "same resource, same MAC");
  const other = await made({ name: "br1", owner: owner("mac", "other-stack") });
  assert.is.not(other.outs.mac, outs.mac, "another stack gets another MAC");
  await bridge.delete(again.id, again.outs);
  await bridge.delete(other.id, other.outs);
});

test("the diff replaces on name, netns and the namespace's identity, delete first; mtu, stp and up update in place", async () => {
  const olds = { name: "br0", netns: "a", netnsIdentity: "1a1a1a1a1a1a1a1a", mtu: 1500, stp: false, up: true, owner: owner("d"), ifindex: 2, mac: "02:00:00:00:00:01" };
  for (const [key, value] of [["name", "br1"], ["netns", "b"], ["netns", undefined], ["netnsIdentity", "7a7a7a7a7a7a7a7a"], ["name", UNKNOWN]] as const) {
    const d = await bridge.diff("link:a/br0", olds, { ...olds, [key]: value });
    assert.equal([d.changes, d.replaces, d.deleteBeforeReplace], [true, [key], true], `${key} -> ${value}`);
  }
  for (const [key, value] of [["mtu", 9000], ["stp", true], ["up", false], ["mtu", UNKNOWN]] as const) {
    const d = await bridge.diff("link:a/br0", olds, { ...olds, [key]: value });
    assert.equal([d.changes, d.replaces], [true, []], `${key} -> ${value}`);
  }
  for (const key of ["mtu", "stp"]) assert.is((await bridge.diff("link:a/br0", olds, { ...olds, [key]: undefined })).changes, false, `unset ${key} is not managed`);
});

test("rejects bad input in check with every failure at once, spawning nothing (B1-B6, B14)", async () => {
  const spawned: string[] = [];
  setCommandHook((argv) => void spawned.push(argv.join(" ")));
  const base = { name: "br0", owner: owner("lab") };
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ name: "abcdefghijklmnop" }, "name", /it is 16 bytes long; the kernel allows at most 15/],
    ...["a/b", "a b", "a:b", ".", "..", "a%d", "a\u0001b", "a'b", "-x", "a;b"].map((n): [Record<string, unknown>, string, RegExp] => [{ name: n }, "name", /use 1-15 characters/]),
    [{ name: "default" }, "name", /clashes with/],
    [{ name: undefined }, "name", /it is required/],
    [{ netns: "a b" }, "netns", /use 1-255 characters/],
    [{ mtu: 67 }, "mtu", /mtu: 67 is not valid: use an integer from 68 to 65535 bytes/],
    [{ mtu: 65536 }, "mtu", /from 68 to 65535/],
    [{ mtu: 9000.5 }, "mtu", /use an integer/],
    [{ stp: "on" }, "stp", /stp: "on" is not valid: use true/],
    [{ up: 1 }, "up", /up: 1 is not valid: use true or false/],
  ];
  for (const [change, property, re] of cases) {
    const f = await failures(bridge, { ...base, ...change });
    assert.is(f.length, 1, `${JSON.stringify(change)}: ${f.join("; ")}`);
    assert.ok(f[0]!.startsWith(`${property}: `), f[0]);
    assert.match(f[0]!, re);
  }
  assert.equal((await failures(bridge, { ...base, name: "a/b", mtu: 0, stp: 1 })).map((f) => f.split(":")[0]), ["name", "mtu", "stp"]);
  assert.equal(await failures(bridge, { ...base, name: UNKNOWN, netns: UNKNOWN, mtu: UNKNOWN, stp: UNKNOWN }), [], "unknown values are not validated");
  setCommandHook(undefined);
  assert.equal(spawned, [], "check spawns nothing");
});

test("create after a crash between `ip link add` and the alias adopts its own bridge", async () => {
  const inputs = await checked(bridge, { name: "br0", mtu: 1400, owner: owner("crash") });
  let dead = false;
  setCommandHook((argv) => {
    if (dead) throw new Error("injected crash");
    if (argv.includes("add")) dead = true;
  });
  await rejects(bridge.create(inputs), /Bridge "crash": create: "br0" was created but not set up, and removing it failed: injected crash/);
  setCommandHook(undefined);
  const left = link(undefined, "br0");
  assert.equal([left.group, left.ifalias], [String(linkGroup(ownerHash(inputs.owner))), undefined]);
  const { id, outs } = await created(bridge, inputs);
  assert.equal([outs.ifindex, outs.mtu, link(undefined, "br0").ifalias], [left.ifindex, 1400, linkAlias(ownerHash(inputs.owner))]);
  await bridge.delete(id, outs);
});

test("a failed setup removes the bridge it created, and create again makes it", async () => {
  const inputs = await checked(bridge, { name: "br0", owner: owner("undo") });
  setCommandHook((argv) => {
    if (argv.includes("alias")) throw new Error("injected failure");
  });
  await rejects(bridge.create(inputs), /Bridge "undo": create: injected failure/);
  setCommandHook(undefined);
  assert.not.ok(ok("ip", "link", "show", "dev", "br0"));
  const { id, outs } = await created(bridge, inputs);
  await bridge.delete(id, outs);
});

test("refuses a foreign bridge of the same name and never deletes it; adopt: true takes it over and pins the MAC", async () => {
  sh("ip", "link", "add", "name", "br0", "type", "bridge");
  const before = ifindexOf(undefined, "br0");
  const inputs = await checked(bridge, { name: "br0", stp: true, owner: owner("foreign") });
  await rejects(bridge.create(inputs), /Bridge "foreign": create: "br0" already exists in the host namespace and was made by something other than nslab/, /remove it with: ip link del dev br0/, /adopt: true/);
  const fake = { ...inputs, ifindex: before, mac: "" };
  assert.equal(await bridge.read("link:-/br0", fake), {});
  await bridge.delete("link:-/br0", fake);
  assert.is(ifindexOf(undefined, "br0"), before, "the foreign bridge survives delete");

  const { id, outs } = await created(bridge, { ...inputs, adopt: true });
  const shown = link(undefined, "br0");
  assert.equal([outs.ifindex, shown.address, shown.linkinfo.info_data.stp_state, shown.ifalias, shown.group], [before, outs.mac, 1, linkAlias(ownerHash(inputs.owner)), String(linkGroup(ownerHash(inputs.owner)))]);
  await bridge.delete(id, outs);
  assert.not.ok(ok("ip", "link", "show", "dev", "br0"));
});

test("refuses a link of the wrong kind and never deletes it (I4)", async () => {
  sh("ip", "link", "add", "name", "br0", "type", "veth", "peer", "name", "br0p");
  for (const adopt of [false, true]) {
    await rejects(bridge.create(await checked(bridge, { name: "br0", adopt, owner: owner("kind") })), /Bridge "kind": create: "br0" already exists but is not a bridge \(it is a veth in the host namespace\); choose another name, or remove it with: ip link del dev br0/);
  }
  const fake = { name: "br0", up: true, owner: owner("kind"), ifindex: 0, mac: "" };
  await bridge.delete("link:-/br0", fake);
  assert.ok(ok("ip", "link", "show", "dev", "br0"), "never deleted");
  sh("ip", "link", "del", "dev", "br0");
});

test("refuses another stack's bridge", async () => {
  const { id, outs } = await made({ name: "br0", owner: owner("s", "stack-a") });
  await rejects(bridge.create(await checked(bridge, { name: "br0", owner: owner("s", "stack-b") })), /"br0" already exists in the host namespace and was made by another nslab resource or stack/);
  await bridge.delete(id, { ...outs, owner: owner("s", "stack-b") });
  assert.ok(ok("ip", "link", "show", "dev", "br0"));
  await bridge.delete(id, outs);
});

test("refuses host-critical names in the host namespace only (B23)", async () => {
  for (const name of ["lo", "eth0", "docker0", "cni0"]) {
    await rejects(bridge.create(await checked(bridge, { name, adopt: true, owner: owner("crit") })), new RegExp(`Bridge "crit": create: name: "${name}" is a host-critical link`));
  }
  sh("ip", "link", "add", "name", "uplink", "type", "bridge");
  sh("ip", "link", "set", "dev", "uplink", "up");
  sh("ip", "-6", "addr", "add", "2001:db8::1/64", "dev", "uplink", "nodad");
  sh("ip", "-6", "route", "add", "default", "via", "2001:db8::2", "dev", "uplink");
  await rejects(bridge.create(await checked(bridge, { name: "uplink", adopt: true, owner: owner("crit") })), /name: "uplink" is the device of the host's default route in the host namespace/);
  assert.ok(ok("ip", "link", "show", "dev", "uplink"));
  sh("ip", "link", "del", "dev", "uplink");
  sh("ip", "netns", "add", "lab");
  const { id, outs } = await made({ name: "docker0", netns: "lab", owner: owner("crit") });
  await bridge.delete(id, outs);
  sh("ip", "netns", "del", "lab");
});

test("read reports drift: down (D4), MTU changed (D9), deleted (D1); a bridge cannot be moved (D6)", async () => {
  sh("ip", "netns", "add", "other");
  const { id, outs, inputs } = await made({ name: "br0", owner: owner("drift") });
  sh("ip", "link", "set", "dev", "br0", "down");
  let read = (await bridge.read(id, outs)).props!;
  assert.is(read.up, false, "D4");
  read = (await bridge.update(id, read, inputs)).outs!;
  assert.ok(link(undefined, "br0").flags.includes("UP"));
  sh("ip", "link", "set", "dev", "br0", "mtu", "1400");
  read = (await bridge.read(id, outs)).props!;
  assert.is(read.mtu, 1400, "D9");
  read = (await bridge.update(id, read, { ...inputs, mtu: 1500 })).outs!;
  assert.is(link(undefined, "br0").mtu, 1500);
  // D6 cannot happen to a bridge: the kernel refuses to move one (NETIF_F_NETNS_LOCAL).
  assert.not.ok(ok("ip", "link", "set", "dev", "br0", "netns", "other"));
  sh("ip", "link", "del", "dev", "br0");
  assert.equal(await bridge.read(id, read), {}, "D1");
  await bridge.delete(id, read);
  sh("ip", "netns", "del", "other");
});

test("carries ping and TCP between two namespaces whose veths join it, and deleting it cuts them off", async () => {
  const br = await made({ name: "br0", owner: owner("lan") });
  const ports = [];
  for (const [n, ns] of ["a", "b"].entries()) {
    sh("ip", "netns", "add", ns);
    sh("ip", "-n", ns, "link", "set", "dev", "lo", "up");
    const inputs = await checked(vethPair, { name: `h${ns}`, master: "br0", peerName: "eth0", peerNetns: ns, owner: owner(`port-${ns}`) });
    ports.push(await created(vethPair, inputs));
    sh("ip", "-n", ns, "addr", "add", `10.1.0.${n + 1}/24`, "dev", "eth0");
  }
  assert.match(sh("ip", "netns", "exec", "a", "ping", "-c", "1", "-W", "2", "10.1.0.2"), /1 received/);
  assert.is(await tcpLine("a", "b", "10.1.0.2", "hello across the bridge\n"), "hello across the bridge\n");
  await bridge.delete(br.id, br.outs);
  assert.not.ok(ok("ip", "netns", "exec", "a", "ping", "-c", "1", "-W", "1", "10.1.0.2"), "no path without the bridge");
  for (const p of ports) await vethPair.delete(p.id, p.outs);
  for (const ns of ["a", "b"]) sh("ip", "netns", "del", ns);
});

test("measures the median time of one create and one delete", async () => {
  const inputs = await checked(bridge, { name: "tbr", owner: owner("time") });
  const creates: number[] = [];
  const deletes: number[] = [];
  for (let i = 0; i < 10; i++) {
    let t = performance.now();
    const { id, outs } = await created(bridge, inputs);
    creates.push(performance.now() - t);
    t = performance.now();
    await bridge.delete(id, outs);
    deletes.push(performance.now() - t);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  console.log(`Bridge: median create ${median(creates).toFixed(1)} ms, delete ${median(deletes).toFixed(1)} ms`);
  assert.ok(median(creates) < 1000 && median(deletes) < 1000);
});

test.run();
