import { suite } from "uvu";
import * as assert from "uvu/assert";
import { linkAlias } from "../../provider/driver/marks";
import { ownerHash } from "../../provider/lib/owner";
import { vxlan, type VxlanInputs, type VxlanOutputs } from "../../provider/resources/vxlan";
import { checked, created, failures, ok, owner, rejects, sh, tcpLine } from "../helpers/kernel";

// Vxlan on the kernel: three "hosts" (namespaces h1..h3 on an underlay bridge, 10.250.0.N/24),
// each with a bridge "lb" holding 10.9.0.N/24; a Vxlan in each, with the other two as remotes,
// joins the bridges into one L2 segment. Then drift, check's refusals, and a vxlan made by hand
// that is never touched.

const test = suite("Vxlan");

const HOSTS = [1, 2, 3] as const;
const underlay = (n: number) => `10.250.0.${n}`;

interface Shown {
  ifindex: number;
  mtu: number;
  master?: string;
  ifalias?: string;
  linkinfo: { info_kind: string; info_data: { id: number; port: number; local?: string; remote?: string } };
}

function link(netns: string, dev: string): Shown {
  return JSON.parse(sh("ip", "-n", netns, "-j", "-d", "link", "show", "dev", dev))[0];
}

const flood = (netns: string, dev: string) =>
  (JSON.parse(sh("bridge", "-n", netns, "-j", "fdb", "show", "dev", dev)) as { mac: string; dst?: string }[]).filter((e) => e.mac === "00:00:00:00:00:00").map((e) => e.dst);

test.before(() => {
  sh("ip", "link", "add", "name", "ul", "type", "bridge");
  sh("ip", "link", "set", "dev", "ul", "up");
  for (const n of HOSTS) {
    const h = `h${n}`;
    sh("ip", "netns", "add", h);
    sh("ip", "link", "add", "name", `u${n}`, "type", "veth", "peer", "name", "eth0", "netns", h);
    sh("ip", "link", "set", "dev", `u${n}`, "master", "ul", "up");
    sh("ip", "-n", h, "addr", "add", `${underlay(n)}/24`, "dev", "eth0");
    sh("ip", "-n", h, "link", "add", "name", "lb", "type", "bridge");
    sh("ip", "-n", h, "addr", "add", `10.9.0.${n}/24`, "dev", "lb");
    for (const dev of ["eth0", "lb", "lo"]) sh("ip", "-n", h, "link", "set", "dev", dev, "up");
  }
});

test.after(() => {
  // The underlay ends first: a namespace's veths leave the host only some time after it is deleted.
  for (const n of HOSTS) sh("ip", "link", "del", "dev", `u${n}`);
  for (const n of HOSTS) sh("ip", "netns", "del", `h${n}`);
  sh("ip", "link", "del", "dev", "ul");
});

test("a Vxlan per host with the others as remotes joins three bridges into one segment (ping, TCP); read, drift, update, delete", async () => {
  const made: { id: string; outs: VxlanOutputs; inputs: VxlanInputs }[] = [];
  for (const n of HOSTS) {
    // The remotes in any order, one of them twice: held sorted, without the duplicate.
    const others = HOSTS.filter((m) => m !== n).map(underlay);
    const inputs = await checked(vxlan, { name: "vx0", netns: `h${n}`, vni: 42, remote: [...others].reverse().concat(others[0]!), local: underlay(n), device: "eth0", master: "lb", owner: owner(`vx${n}`) });
    assert.equal(inputs.remote, others);
    assert.is(inputs.dstPort, 4789, "VXLAN's IANA port, not iproute2's default 8472");
    made.push({ ...(await created(vxlan, inputs)), inputs });
  }
  const [one] = made;
  const shown = link("h1", "vx0");
  assert.equal(
    [shown.linkinfo.info_kind, shown.linkinfo.info_data.id, shown.linkinfo.info_data.port, shown.linkinfo.info_data.local, shown.master, shown.mtu, shown.ifalias],
    ["vxlan", 42, 4789, "10.250.0.1", "lb", 1450, linkAlias(ownerHash(one!.inputs.owner))],
  );
  assert.equal(flood("h1", "vx0"), ["10.250.0.2", "10.250.0.3"], "one device, a flood entry per remote");
  assert.equal(one!.outs, { ...one!.inputs, mtu: 1450, up: true, ifindex: shown.ifindex, mac: one!.outs.mac });
  assert.equal((await vxlan.read(one!.id, one!.outs)).props, one!.outs, "read equals what was made");

  for (const [from, to] of [[1, 2], [1, 3], [2, 3]]) assert.ok(ok("ip", "netns", "exec", `h${from}`, "ping", "-c1", "-W2", `10.9.0.${to}`), `h${from} -> h${to} through the tunnel`);
  assert.is(await tcpLine("h3", "h1", "10.9.0.1", "over vxlan\n"), "over vxlan\n");

  // Drift by hand: out of the bridge, a remote gone. Read reports both; the remote replaces, master is set back in place.
  sh("ip", "-n", "h1", "link", "set", "dev", "vx0", "nomaster");
  sh("bridge", "-n", "h1", "fdb", "del", "00:00:00:00:00:00", "dev", "vx0", "dst", "10.250.0.3");
  const drifted = (await vxlan.read(one!.id, one!.outs)).props!;
  assert.equal([drifted.master, drifted.remote], [undefined, ["10.250.0.2"]]);
  const diff = await vxlan.diff(one!.id, drifted, one!.inputs);
  assert.equal([diff.changes, diff.replaces], [true, ["remote"]]);
  assert.equal((await vxlan.diff(one!.id, one!.outs, { ...one!.inputs, master: undefined, mtu: 1400, up: false })).replaces, [], "mtu and up change in place");
  const updated = (await vxlan.update(one!.id, drifted, { ...one!.inputs, mtu: 1400 })).outs!;
  assert.equal([link("h1", "vx0").master, link("h1", "vx0").mtu, link("h1", "vx0").ifindex], ["lb", 1400, shown.ifindex], "in place, same link");
  assert.is(updated.master, "lb");

  for (const m of made) await vxlan.delete(m.id, m.outs);
  for (const n of HOSTS) assert.not.ok(ok("ip", "-n", `h${n}`, "link", "show", "dev", "vx0"));
  assert.equal(await vxlan.read(one!.id, one!.outs), {});
  await vxlan.delete(one!.id, one!.outs);
});

test("check refuses bad input, naming the value, what is allowed and the fix", async () => {
  const base = { name: "vx0", vni: 7, remote: "10.250.0.2", owner: owner("bad") };
  const reasons = async (news: object) => (await failures(vxlan, { ...base, ...news })).join("\n");
  assert.match(await reasons({ vni: 0 }), /^vni: 0 is not valid: use an integer from 1 to 16777215 \(24 bits; 0 is reserved\)$/);
  assert.match(await reasons({ vni: 16777216 }), /vni: 16777216 is not valid/);
  assert.match(await reasons({ remote: "10.250.0.02" }), /^remote: \["10.250.0.02"\] is not valid: "10.250.0.02": it is not in canonical form; write "10.250.0.2"/);
  assert.match(await reasons({ remote: "239.1.1.1" }), /a multicast group is not supported/);
  assert.match(await reasons({ remote: [] }), /^remote: \[\] is not valid: give the other end's underlay address, e.g. "10.250.0.2", or a non-empty list of them$/);
  assert.match(await reasons({ remote: ["10.250.0.2", "2001:db8::2"] }), /mixes IPv4 and IPv6/);
  assert.match(await reasons({ local: "10.250.0.2" }), /^remote: \["10.250.0.2"\] is not valid: it holds the local address 10.250.0.2; give the other ends' addresses only$/);
  assert.match(await reasons({ local: "2001:db8::1" }), /^local: "2001:db8::1" is not valid: it is not of the remotes' family \(10.250.0.2\)/);
  assert.match(await reasons({ dstPort: 0 }), /^dstPort: 0 is not valid: use an integer from 1 to 65535 \(UDP; 4789 is VXLAN's, the default\)$/);
  assert.match(await reasons({ device: "a b" }), /^device: "a b" is not valid: use 1-15 characters/);
  assert.match(await reasons({ remote: undefined }), /^remote: \(unset\) is not valid: it is required/);
});

test("a vxlan made by hand is never touched: a same-named create is refused, a same-VNI one names it, adopt with other attributes is refused", async () => {
  sh("ip", "-n", "h1", "link", "add", "name", "hand", "type", "vxlan", "id", "9", "remote", "10.250.0.2", "dstport", "4789");
  const before = link("h1", "hand");
  const inputs = await checked(vxlan, { name: "hand", netns: "h1", vni: 9, remote: ["10.250.0.2"], owner: owner("mine") });
  await rejects(vxlan.create(inputs), /Vxlan "mine": create: "hand" already exists in namespace "h1" and was made by something other than nslab/, /adopt: true/);
  await rejects(vxlan.create({ ...inputs, adopt: true, vni: 10 }), /"hand" in namespace "h1" is a vxlan link with vni 9, not vni 10; these are fixed when a link is made/);
  await rejects(
    vxlan.create({ ...inputs, name: "vx1" }),
    /vni 9 with dstPort 4789 is already used by the vxlan link "hand" in namespace "h1", and the kernel allows one link per VNI and port in a namespace/,
  );
  assert.not.ok(ok("ip", "-n", "h1", "link", "show", "dev", "vx1"), "nothing left behind");
  await vxlan.delete("link:h1/hand", { ...inputs, ifindex: before.ifindex, mac: "" });
  assert.equal(link("h1", "hand"), before, "the foreign link is as it was");
  assert.equal(flood("h1", "hand"), ["10.250.0.2"]);
});

test.run();
