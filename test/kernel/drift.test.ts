import { suite } from "uvu";
import * as assert from "uvu/assert";
import { providers } from "../../provider";
import { checked, created, owner, sh } from "../helpers/kernel";

// docs/kernel-facts.md, D2: a lab namespace deleted by hand. Netns reads gone, and so does everything that lived in it
// or had an end in it — the VethPair (whose host end the kernel removes asynchronously), the
// Address and Route inside, and a Sysctl held in it — so refresh drops them all, and delete of
// each still succeeds.

const test = suite("drift");

test("a namespace deleted by hand reads gone, with everything in it (D2)", async () => {
  const made: { kind: keyof typeof providers; id: string; outs: any }[] = [];
  for (const [kind, args] of [
    ["Netns", { name: "d2" }],
    ["VethPair", { name: "d2-host", peerName: "d2-in", peerNetns: "d2" }],
    ["Address", { device: "d2-in", netns: "d2", address: "10.60.0.2/24" }],
    ["Route", { destination: "default", via: "10.60.0.1", netns: "d2" }],
    ["Sysctl", { key: "net.ipv4.ip_forward", value: 1, netns: "d2" }],
  ] as const) {
    const p = providers[kind];
    const { inputs, failures } = await p.check({}, { ...args, owner: owner(`d2-${kind}`) });
    assert.equal(failures ?? [], [], kind);
    const { id, outs } = await p.create(inputs);
    made.push({ kind, id, outs });
  }
  sh("ip", "netns", "del", "d2");
  for (let i = 0; i < 200 && sh("ip", "-o", "link").includes("d2-host"); i++) await new Promise((r) => setTimeout(r, 10));
  for (const { kind, id, outs } of made) assert.equal(await providers[kind].read(id, outs), {}, `${kind} reads gone`);
  for (const { kind, id, outs } of made.reverse()) await providers[kind].delete(id, outs);
});

test("a default route whose gateway was changed by hand reads changed, and update repairs it (T9)", async () => {
  sh("ip", "link", "add", "name", "d9", "type", "veth", "peer", "name", "d9-peer");
  sh("ip", "link", "set", "dev", "d9", "up");
  sh("ip", "addr", "add", "10.61.0.1/24", "dev", "d9");
  const inputs = await checked(providers.Route, { destination: "default", via: "10.61.0.2", owner: owner("d9-route") });
  const { id, outs } = await created(providers.Route, inputs);
  sh("ip", "route", "change", "default", "via", "10.61.0.3");
  const read = await providers.Route.read(id, outs);
  assert.is(read.id, id, "still ours");
  assert.is(read.props!.via, "10.61.0.3");
  await providers.Route.update(id, read.props!, inputs);
  assert.match(sh("ip", "route", "show", "default"), /^default via 10\.61\.0\.2 dev d9 proto 199/);
  sh("ip", "route", "change", "default", "via", "10.61.0.3");
  await providers.Route.delete(id, outs);
  assert.is(sh("ip", "route", "show", "default"), "", "a route changed by hand is still deleted as ours");
  sh("ip", "link", "del", "dev", "d9");
});

test("an MTU changed by hand on one end reads the same on every refresh, and update repairs it; an unmanaged one is not repaired (T10)", async () => {
  for (const mtu of [1500, undefined]) {
    const inputs = await checked(providers.VethPair, { name: "d10a", peerName: "d10b", ...(mtu ? { mtu } : {}), owner: owner("d10-pair") });
    const { id, outs } = await created(providers.VethPair, inputs);
    assert.equal((await providers.VethPair.read(id, outs)).props, outs, "a clean pair reads as made");
    sh("ip", "link", "set", "dev", "d10b", "mtu", "9000");
    const first = (await providers.VethPair.read(id, outs)).props!;
    const second = (await providers.VethPair.read(id, first)).props!;
    assert.equal(second, first, "a second refresh reports what the first did");
    const d = await providers.VethPair.diff(id, second, inputs);
    assert.is(d.changes, mtu !== undefined, "up repairs a managed MTU only");
    if (d.changes) {
      await providers.VethPair.update(id, second, inputs);
      assert.match(sh("ip", "link", "show", "dev", "d10b"), / mtu 1500 /);
    }
    await providers.VethPair.delete(id, outs);
  }
});

test("a Route declared with only via reads unchanged after a clean create (T10)", async () => {
  sh("ip", "link", "add", "name", "d10", "type", "veth", "peer", "name", "d10-peer");
  sh("ip", "link", "set", "dev", "d10", "up");
  sh("ip", "addr", "add", "10.62.0.1/24", "dev", "d10");
  const { id, outs } = await created(providers.Route, await checked(providers.Route, { destination: "10.63.0.0/16", via: "10.62.0.2", owner: owner("d10-route") }));
  assert.equal(await providers.Route.read(id, outs), { id, props: outs });
  await providers.Route.delete(id, outs);
  sh("ip", "link", "del", "dev", "d10");
});

test.run();
