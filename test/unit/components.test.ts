import * as pulumi from "@pulumi/pulumi";
import { suite } from "uvu";
import * as assert from "uvu/assert";

// The components (Segment, Attachment, PublishedPort, Router) under Pulumi's mock runtime: the
// children they register (names, type tokens, parents, inputs) and the mistakes they refuse at
// construction, before registering anything.

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
}
const registered: Registered[] = [];

void pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      const state = args.custom ? { ...args.inputs, identity: `4026532000@${registered.length}`, ifindex: registered.length, peerIfindex: 100 + registered.length } : {};
      return { id: args.custom ? `${args.name}-id` : undefined, state };
    },
    call: () => ({}),
  },
  "lab",
  "dev",
);

// Loaded after setMocks, as Pulumi's own mock tests do.
const nslab: typeof import("../../sdk") = require("../../sdk");
const { allocate, planSubnet }: typeof import("../../sdk/components/allocate") = require("../../sdk/components/allocate");

const T = "pulumi-nodejs:dynamic/nslab:";

function registration(name: string): Promise<Registered> {
  return new Promise((resolve) => {
    const poll = () => {
      const r = registered.find((x) => x.name === name);
      if (r) resolve(r);
      else setTimeout(poll, 5);
    };
    poll();
  });
}

/** "type name owner-path" of each registration, in the order of `names`. */
async function tree(names: string[]): Promise<string[]> {
  const rs = await Promise.all(names.map(registration));
  return rs.map((r) => `${r.type} ${r.inputs.owner ? r.inputs.owner.path.join("/") : r.name}`);
}

function thrown(construct: () => unknown): string {
  try {
    construct();
  } catch (e) {
    return (e as Error).message;
  }
  return "(nothing thrown)";
}

const value = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply(resolve));

const segment = suite("Segment and Attachment");

segment("a segment with a gateway and NAT makes its bridge, the gateway address on it, forwarding and a MASQUERADE of the subnet", async () => {
  const lan = new nslab.Segment("lan", { subnet: "10.0.0.0/24", gateway: true, nat: true });
  assert.equal(await tree(["lan", "lan-bridge", "lan-gateway", "lan-forwarding", "lan-nat"]), [
    "nslab:index:Segment lan",
    `${T}Bridge lan/lan-bridge`,
    `${T}Address lan/lan-gateway`,
    `${T}Sysctl lan/lan-forwarding`,
    `${T}NatRule lan/lan-nat`,
  ]);
  const bridge = (await registration("lan-bridge")).inputs;
  assert.match(bridge.name, /^lan-bridge-[0-9a-f]{4}$/);
  assert.is(bridge.netns, undefined);
  const gw = (await registration("lan-gateway")).inputs;
  assert.equal([gw.device, gw.address, gw.netns, gw.deviceIdentity], [bridge.name, "10.0.0.1/24", undefined, await value(lan.bridge.incarnation)]);
  const fwd = (await registration("lan-forwarding")).inputs;
  assert.equal([fwd.key, fwd.value, fwd.netns], ["net.ipv4.ip_forward", 1, undefined]);
  const nat = (await registration("lan-nat")).inputs;
  assert.equal([nat.source, nat.notOutInterface, nat.outInterface], ["10.0.0.0/24", bridge.name, undefined]);
  assert.equal([lan.subnet, lan.prefixLength, lan.gateway, lan.gatewayOn], ["10.0.0.0/24", 24, "10.0.0.1", "bridge"]);
  assert.ok(lan.gatewayAddress && lan.forwarding && lan.nat);
});

segment("a segment without a gateway, in a namespace, makes only its bridge there, with the given name, MTU and STP", async () => {
  const ns = new nslab.Netns("sw", { name: "sw" });
  const quiet = new nslab.Segment("quiet", { subnet: "10.9.0.0/24", netns: ns, bridgeName: "br-quiet", mtu: 9000, stp: true });
  const bridge = (await registration("quiet-bridge")).inputs;
  assert.equal([bridge.name, bridge.netns, bridge.netnsIdentity, bridge.mtu, bridge.stp], ["br-quiet", "sw", await value(ns.incarnation), 9000, true]);
  assert.equal([quiet.gateway, quiet.gatewayAddress, quiet.forwarding, quiet.nat], [undefined, undefined, undefined, undefined]);
  assert.is(registered.filter((r) => r.inputs.owner?.path[0] === "quiet").length, 1);
});

segment("attach makes `<segment>-<name>`: a veth pair from the bridge into the namespace, the derived address and a default route via the gateway", async () => {
  const lan = new nslab.Segment("lan2", { subnet: "10.0.2.0/24", gateway: true });
  const web = new nslab.Netns("web");
  const a = lan.attach("web", { netns: web });
  assert.equal(await tree(["lan2-web", "lan2-web-veth", "lan2-web-address", "lan2-web-route"]), [
    "nslab:index:Attachment lan2-web",
    `${T}VethPair lan2/lan2-web/lan2-web-veth`,
    `${T}Address lan2/lan2-web/lan2-web-address`,
    `${T}Route lan2/lan2-web/lan2-web-route`,
  ]);
  assert.is(a.address, allocate(planSubnet("lan2", "10.0.2.0/24", true), new Map(), "lan2-web"));
  assert.is(a.cidr, `${a.address}/24`);
  const bridge = (await registration("lan2-bridge")).inputs;
  const webName = (await registration("web")).inputs.name;
  const veth = (await registration("lan2-web-veth")).inputs;
  assert.match(veth.name, /^lan2-web-v-[0-9a-f]{4}$/);
  assert.equal(
    [veth.netns, veth.master, veth.masterIdentity, veth.peerName, veth.peerNetns, veth.peerNetnsIdentity],
    [undefined, bridge.name, await value(lan.bridge.incarnation), "eth0", webName, await value(web.incarnation)],
  );
  const address = (await registration("lan2-web-address")).inputs;
  assert.equal([address.device, address.netns, address.address], ["eth0", webName, a.cidr]);
  const route = (await registration("lan2-web-route")).inputs;
  assert.equal([route.destination, route.via, route.device, route.netns], ["default", "10.0.2.1", "eth0", webName]);
  assert.equal([await value(a.interface), await value(a.netns)], ["eth0", webName]);
});

segment("an attachment takes an explicit address, interface names and MAC, and no default route when told so", async () => {
  const lan = new nslab.Segment("lan3", { subnet: "10.0.3.0/24", gateway: "10.0.3.254" });
  const a = lan.attach("db", { netns: "dbns", address: "10.0.3.10", ifname: "lan0", hostIfname: "vdb", mac: "02:00:00:00:00:10", defaultRoute: false });
  const veth = (await registration("lan3-db-veth")).inputs;
  assert.equal([veth.name, veth.peerName, veth.peerNetns, veth.peerMac], ["vdb", "lan0", "dbns", "02:00:00:00:00:10"]);
  assert.is((await registration("lan3-db-address")).inputs.address, "10.0.3.10/24");
  assert.equal([a.address, a.route], ["10.0.3.10", undefined]);
  await registration("lan3-db-address");
  assert.is(registered.find((r) => r.name === "lan3-db-route"), undefined);
});

segment("attachments of one segment get distinct addresses until the subnet is full", () => {
  const tiny = new nslab.Segment("tiny", { subnet: "10.0.4.0/29", gateway: true });
  const addresses = ["a", "b", "c", "d", "e"].map((n) => tiny.attach(n, { netns: n }).address);
  assert.equal([...addresses].sort(), ["10.0.4.2", "10.0.4.3", "10.0.4.4", "10.0.4.5", "10.0.4.6"]);
  assert.is(
    thrown(() => tiny.attach("f", { netns: "f" })),
    `Attachment "tiny-f" of segment "tiny": address: the subnet 10.0.4.0/29 is full: its 6 usable addresses are taken (the gateway 10.0.4.1, "tiny-a", "tiny-b", "tiny-c", "tiny-d", "tiny-e"); use a larger subnet (a shorter prefix length)`,
  );
});

segment("publish makes `<attachment>-<protocol><hostPort>`: forwarding and a DNAT in the bridge's namespace to the attachment's address", async () => {
  const ns = new nslab.Netns("edge", { name: "edge" });
  const lan = new nslab.Segment("pub", { subnet: "10.0.5.0/24", gateway: true, netns: ns });
  const web = lan.attach("web", { netns: "webns", address: "10.0.5.80" });
  const port = web.publish({ port: 80, hostPort: 8080, hostAddress: "192.168.1.10" });
  web.publish({ port: 53, protocol: "udp" });
  assert.equal(await tree(["pub-web-tcp8080", "pub-web-tcp8080-forwarding", "pub-web-tcp8080-dnat", "pub-web-udp53-dnat"]), [
    "nslab:index:PublishedPort pub-web-tcp8080",
    `${T}Sysctl pub/pub-web/pub-web-tcp8080/pub-web-tcp8080-forwarding`,
    `${T}PortForward pub/pub-web/pub-web-tcp8080/pub-web-tcp8080-dnat`,
    `${T}PortForward pub/pub-web/pub-web-udp53/pub-web-udp53-dnat`,
  ]);
  const fwd = (await registration("pub-web-tcp8080-forwarding")).inputs;
  assert.equal([fwd.key, fwd.value, fwd.netns], ["net.ipv4.ip_forward", 1, "edge"]);
  const dnat = (await registration("pub-web-tcp8080-dnat")).inputs;
  assert.equal([dnat.hostPort, dnat.toAddress, dnat.toPort, dnat.protocol, dnat.hostAddress, dnat.netns], [8080, "10.0.5.80", 80, undefined, "192.168.1.10", "edge"]);
  const udp = (await registration("pub-web-udp53-dnat")).inputs;
  assert.equal([udp.hostPort, udp.toPort, udp.protocol], [53, 53, "udp"]);
  assert.ok(port.portForward && port.forwarding);
});

segment("a segment across hosts makes a bridge and a Vxlan on each (the others' underlays as remotes, one VNI, the tunnel's MTU), the gateway on the first, each attachment on its host's bridge", async () => {
  const [east, west] = [{ address: "192.0.2.2", user: "root" }, { address: "192.0.2.3", port: 2222 }];
  const wide = new nslab.Segment("wide", { subnet: "10.6.0.0/24", gateway: true, hosts: [{ underlay: "192.0.2.1" }, { host: east, underlay: "192.0.2.2" }, { host: west, underlay: "192.0.2.3" }], vni: 77 });
  const a = wide.attach("a", { netns: new nslab.Netns("wa", { host: west }), host: west });
  const sites = ["local", "192.0.2.2", "192.0.2.3:2222"];
  assert.equal(await tree(sites.flatMap((s) => [`wide-${s}-bridge`, `wide-${s}-vxlan`])), sites.flatMap((s) => [`${T}Bridge wide/wide-${s}-bridge`, `${T}Vxlan wide/wide-${s}-vxlan`]));
  const hosts = [undefined, east, west];
  for (const [i, s] of sites.entries()) {
    const [bridge, vxlan] = [(await registration(`wide-${s}-bridge`)).inputs, (await registration(`wide-${s}-vxlan`)).inputs];
    assert.equal([bridge.host, bridge.mtu, vxlan.host, vxlan.vni, vxlan.local, vxlan.master, vxlan.mtu], [hosts[i], 1450, hosts[i], 77, ["192.0.2.1", "192.0.2.2", "192.0.2.3"][i], bridge.name, 1450]);
    assert.equal(vxlan.remote, ["192.0.2.1", "192.0.2.2", "192.0.2.3"].filter((_, j) => j !== i));
  }
  assert.equal([(await registration("wide-gateway")).inputs.host, wide.bridge, wide.bridges.length, wide.tunnels.length], [undefined, wide.bridges[0], 3, 3]);
  const veth = (await registration("wide-a-veth")).inputs;
  assert.equal([veth.host, veth.master, veth.mtu], [west, (await registration("wide-192.0.2.3:2222-bridge")).inputs.name, 1450]);
  assert.equal([(await registration("wide-a-address")).inputs.host, a.address.startsWith("10.6.0.")], [west, true]);
});

segment.run();

const router = suite("Router");

router("a router joins segments from its own namespace: per segment a leg named after it holding the gateway, forwarding, the allows in order, then drops between the segments", async () => {
  const a = new nslab.Segment("a", { subnet: "10.1.0.0/24", gateway: true, gatewayOn: "router" });
  const b = new nslab.Segment("b", { subnet: "10.2.0.0/24", gateway: "10.2.0.254", gatewayOn: "router" });
  const rt = new nslab.Router("rt", { segments: [a, b], allow: [{ from: a, to: b, protocol: "tcp", port: 80 }, { from: "10.2.0.5", to: a, protocol: "icmp" }] });
  assert.equal(
    await tree(["rt", "rt-netns", "rt-a-leg", "rt-a-address", "rt-b-leg", "rt-b-address", "rt-forwarding", "rt-allow-0", "rt-allow-1", "rt-drop-a-b", "rt-drop-b-a"]),
    [
      "nslab:index:Router rt",
      `${T}Netns rt/rt-netns`,
      `${T}VethPair rt/rt-a-leg`,
      `${T}Address rt/rt-a-address`,
      `${T}VethPair rt/rt-b-leg`,
      `${T}Address rt/rt-b-address`,
      `${T}Sysctl rt/rt-forwarding`,
      `${T}FirewallRule rt/rt-allow-0`,
      `${T}FirewallRule rt/rt-allow-1`,
      `${T}FirewallRule rt/rt-drop-a-b`,
      `${T}FirewallRule rt/rt-drop-b-a`,
    ],
  );
  assert.is(a.gatewayAddress, undefined, "the segment itself makes no gateway address");
  const netns = (await registration("rt-netns")).inputs.name;
  assert.match(netns, /^rt-netns-[0-9a-f]{4}$/);
  assert.is(await value(rt.netns), netns);
  const leg = (await registration("rt-b-leg")).inputs;
  const bridge = (await registration("b-bridge")).inputs.name;
  assert.equal([leg.netns, leg.master, leg.peerName, leg.peerNetns], [undefined, bridge, "b", netns]);
  const address = (await registration("rt-b-address")).inputs;
  assert.equal([address.device, address.netns, address.address], ["b", netns, "10.2.0.254/24"]);
  const rule = async (n: string) => {
    const i = (await registration(n)).inputs;
    return [i.action, i.priority, i.source, i.destination, i.protocol, i.destinationPort, i.netns];
  };
  assert.equal(await rule("rt-allow-0"), ["accept", 1000, "10.1.0.0/24", "10.2.0.0/24", "tcp", 80, netns]);
  assert.equal(await rule("rt-allow-1"), ["accept", 1001, "10.2.0.5", "10.1.0.0/24", "icmp", undefined, netns]);
  assert.equal(await rule("rt-drop-a-b"), ["drop", 2000, "10.1.0.0/24", "10.2.0.0/24", undefined, undefined, netns]);
  assert.equal(await rule("rt-drop-b-a"), ["drop", 2000, "10.2.0.0/24", "10.1.0.0/24", undefined, undefined, netns]);
  assert.equal([rt.legs.length, rt.gatewayAddresses.length, rt.forwarding.length, rt.rules.length], [2, 2, 1, 4]);
});

router("a router in the host gives its ends derived names and filters nothing without allow; IPv6 segments get IPv6 forwarding", async () => {
  const c = new nslab.Segment("c", { subnet: "10.3.0.0/24", gateway: true, gatewayOn: "router" });
  const d = new nslab.Segment("d", { subnet: "fd00:4::/64", gateway: true, gatewayOn: "router" });
  const rt = new nslab.Router("hostrt", { segments: [c, d], inHost: true });
  const leg = (await registration("hostrt-c-leg")).inputs;
  assert.match(leg.peerName, /^hostrt-c-[0-9a-f]{4}$/);
  assert.is(leg.peerNetns, undefined);
  assert.is((await registration("hostrt-d-address")).inputs.address, "fd00:4::1/64");
  const fwd = await Promise.all(["hostrt-forwarding", "hostrt-forwarding6"].map(async (n) => (await registration(n)).inputs));
  assert.equal(fwd.map((i) => [i.key, i.value, i.netns]), [["net.ipv4.ip_forward", 1, undefined], ["net.ipv6.conf.all.forwarding", 1, undefined]]);
  assert.equal([rt.rules.length, rt.netnsResource, await value(rt.netns)], [0, undefined, undefined]);
});

router("a router in a given namespace makes none of its own", async () => {
  const e = new nslab.Segment("e", { subnet: "10.5.0.0/24", gateway: true, gatewayOn: "router" });
  const rt = new nslab.Router("given", { segments: [e], netns: "core" });
  assert.is((await registration("given-e-leg")).inputs.peerNetns, "core");
  assert.equal([rt.netnsResource, await value(rt.netns)], [undefined, "core"]);
});

router("a home router: an uplink into the outside's namespace, NAT of every subnet out of it, published ports on its address, inbound drops after them; the policy in a few words", async () => {
  const lan = new nslab.Segment("lan", { subnet: "10.6.0.0/24", gateway: true, gatewayOn: "router" });
  const guest = new nslab.Segment("guest", { subnet: "10.7.0.0/24", gateway: true, gatewayOn: "router" });
  const web = lan.attach("web", { netns: "web" });
  const rt = new nslab.Router("home", {
    segments: [lan, guest],
    uplink: { netns: "isp", address: "203.0.113.2/24", peerAddress: "203.0.113.1/24", gateway: "203.0.113.1" },
    nat: true,
    publish: [{ port: 8080, to: web, toPort: 80 }, { port: 53, to: web, protocol: "udp" }],
    allow: [{ from: lan, to: guest, protocol: "tcp", port: 22 }],
  });
  const names = ["home-uplink", "home-uplink-address", "home-uplink-peer-address", "home-default", "home-nat-lan", "home-nat-guest", "home-publish-tcp8080", "home-publish-udp53", "home-inbound-forward", "home-inbound-input"];
  assert.equal(await tree(names), [
    `${T}VethPair home/home-uplink`,
    `${T}Address home/home-uplink-address`,
    `${T}Address home/home-uplink-peer-address`,
    `${T}Route home/home-default`,
    `${T}NatRule home/home-nat-lan`,
    `${T}NatRule home/home-nat-guest`,
    `${T}PortForward home/home-publish-tcp8080`,
    `${T}PortForward home/home-publish-udp53`,
    `${T}FirewallRule home/home-inbound-forward`,
    `${T}FirewallRule home/home-inbound-input`,
  ]);
  const netns = await value(rt.netns);
  const [uplink, address, peer, route, nat, , tcp, udp, fwd, input] = await Promise.all(names.map(async (n) => (await registration(n)).inputs));
  assert.match(uplink!.name, /^home-uplin-[0-9a-f]{4}$/);
  assert.equal([uplink!.netns, uplink!.peerName, uplink!.peerNetns], ["isp", "uplink", netns]);
  assert.equal([address!.device, address!.netns, address!.address], ["uplink", netns, "203.0.113.2/24"]);
  assert.equal([peer!.device, peer!.netns, peer!.address], [uplink!.name, "isp", "203.0.113.1/24"]);
  assert.equal([route!.destination, route!.via, route!.device, route!.netns], ["default", "203.0.113.1", "uplink", netns]);
  assert.equal([nat!.source, nat!.outInterface, nat!.netns], ["10.6.0.0/24", "uplink", netns]);
  assert.equal([tcp!.hostPort, tcp!.toAddress, tcp!.toPort, tcp!.protocol, tcp!.hostAddress, tcp!.inInterface, tcp!.netns], [8080, web.address, 80, "tcp", "203.0.113.2", "uplink", netns]);
  assert.equal([udp!.hostPort, udp!.toPort, udp!.protocol], [53, 53, "udp"]);
  assert.equal([fwd!.action, fwd!.chain, fwd!.priority, fwd!.inInterface, fwd!.netns], ["drop", "forward", 2000, "uplink", netns]);
  assert.equal([input!.chain, input!.priority], ["input", 2000]);
  assert.equal(rt.policy, [
    "NAT out of the uplink: lan, guest",
    `publish tcp 203.0.113.2:8080 → lan-web ${web.address}:80`,
    `publish udp 203.0.113.2:53 → lan-web ${web.address}:53`,
    "allow lan → guest tcp/22",
    "drop the rest between lan, guest",
    "inbound: replies and published ports only",
  ]);
  assert.equal([rt.uplinkAddresses.length, rt.nat.length, rt.published.length, rt.rules.length], [2, 2, 2, 5]);
});

router("inbound allow makes no drops; a router in the host names its uplink end after it, the outer end stays in the given namespace", async () => {
  const s = new nslab.Segment("open", { subnet: "10.9.0.0/24", gateway: true, gatewayOn: "router" });
  const rt = new nslab.Router("open-rt", { segments: [s], inHost: true, uplink: { netns: "wan", address: "198.51.100.2/30" }, inbound: "allow" });
  const uplink = (await registration("open-rt-uplink")).inputs;
  assert.match(uplink.peerName, /^open-rt-up-[0-9a-f]{4}$/);
  assert.equal([uplink.netns, uplink.peerNetns], ["wan", undefined]);
  assert.equal([rt.rules.length, rt.nat.length, rt.defaultRoute, rt.policy], [0, 0, undefined, ["inbound: everything"]]);
});

router.run();

const errors = suite("components: mistakes fail at construction");

let routerCases = 0;
const cases: [string, () => unknown, string][] = [
  [
    "rejects a segment across one host, host with hosts, a host twice, a bad underlay, a vni without hosts; an attachment on a host the segment does not span",
    () => {
      const h = { address: "192.0.2.2" };
      const two = new nslab.Segment("xh0", { subnet: "10.0.0.0/24", hosts: [{ underlay: "192.0.2.1" }, { host: h, underlay: "192.0.2.2" }] });
      throw new Error(
        [
          thrown(() => new nslab.Segment("xh1", { subnet: "10.0.0.0/24", hosts: [{ underlay: "192.0.2.1" }] })),
          thrown(() => new nslab.Segment("xh2", { subnet: "10.0.0.0/24", host: h, hosts: [{ underlay: "192.0.2.1" }, { host: h, underlay: "192.0.2.2" }] })),
          thrown(() => new nslab.Segment("xh3", { subnet: "10.0.0.0/24", hosts: [{ host: h, underlay: "192.0.2.1" }, { host: h, underlay: "192.0.2.2" }] })),
          thrown(() => new nslab.Segment("xh4", { subnet: "10.0.0.0/24", hosts: [{ underlay: "192.0.2.01" }, { host: h, underlay: "192.0.2.2" }] })),
          thrown(() => new nslab.Segment("xh5", { subnet: "10.0.0.0/24", vni: 5 })),
          thrown(() => two.attach("far", { netns: "n", host: { address: "192.0.2.9" } })),
        ].join("\n"),
      );
    },
    [
      `Segment "xh1": hosts is not valid: give at least two hosts ({ host?, underlay } each); a segment on one host needs no hosts, only host`,
      `Segment "xh2": host and hosts are not valid together: give every host the segment spans in hosts (as { host, underlay }), and no host`,
      `Segment "xh3": hosts[1] is not valid: host 192.0.2.2 is given twice; give each host once`,
      `Segment "xh4": hosts[0].underlay "192.0.2.01" is not valid: it is not in canonical form; write "192.0.2.1" (ip would read the leading zeros as octal: 192.0.2.1). IPv4 is written as four decimal parts 0-255 without leading zeros.`,
      `Segment "xh5": vni 5 is not valid without hosts: a segment on one host has no tunnel; drop vni, or give the hosts the segment spans`,
      `Attachment "xh0-far": host 192.0.2.9 is not valid: segment "xh0" spans the provider's machine (no host), 192.0.2.2; give one of them as host, or add this host to the segment's hosts`,
    ].join("\n"),
  ],
  [
    "rejects nat without a gateway",
    () => new nslab.Segment("x1", { subnet: "10.0.0.0/24", nat: true }),
    `Segment "x1": nat true is not valid with no gateway: NAT needs an IPv4 subnet and a gateway on the bridge; set gateway (true or an address) and leave gatewayOn "bridge" (behind a Router, give the Router an uplink and nat: true)`,
  ],
  [
    "rejects nat on an IPv6 subnet",
    () => new nslab.Segment("x2", { subnet: "fd00::/64", gateway: true, nat: true }),
    `Segment "x2": nat true is not valid with the IPv6 subnet fd00::/64: NAT needs an IPv4 subnet and a gateway on the bridge; set gateway (true or an address) and leave gatewayOn "bridge" (behind a Router, give the Router an uplink and nat: true)`,
  ],
  [
    "rejects nat with the gateway on a router",
    () => new nslab.Segment("x3", { subnet: "10.0.0.0/24", gateway: true, gatewayOn: "router", nat: true }),
    `Segment "x3": nat true is not valid with gatewayOn "router": NAT needs an IPv4 subnet and a gateway on the bridge; set gateway (true or an address) and leave gatewayOn "bridge" (behind a Router, give the Router an uplink and nat: true)`,
  ],
  ["rejects an unknown gatewayOn", () => new nslab.Segment("x4", { subnet: "10.0.0.0/24", gatewayOn: "host" as "bridge" }), `Segment "x4": gatewayOn "host" is not valid: use "bridge" or "router"`],
  ["rejects a subnet too small", () => new nslab.Segment("x5", { subnet: "10.0.0.7/32" }), `Segment "x5": subnet "10.0.0.7/32" is not valid: it has room for one address; a segment needs at least two (its gateway and an attachment, or two attachments): use a prefix of /31 or shorter`],
  [
    "rejects a default route on a segment without a gateway",
    () => new nslab.Segment("x6", { subnet: "10.0.0.0/24" }).attach("h", { netns: "h", defaultRoute: true }),
    `Attachment "x6-h": defaultRoute true is not valid: segment "x6" has no gateway; give the segment a gateway, or leave defaultRoute unset`,
  ],
  [
    "rejects two attachments with one address",
    () => {
      const s = new nslab.Segment("x7", { subnet: "10.0.0.0/24" });
      s.attach("a", { netns: "a", address: "10.0.0.5" });
      s.attach("b", { netns: "b", address: "10.0.0.5" });
    },
    `Attachment "x7-b" of segment "x7": address "10.0.0.5" is not valid: attachment "x7-a" already has it; give one of the two another address, or leave address out to derive a free one`,
  ],
  [
    "rejects an address outside the subnet",
    () => new nslab.Segment("x8", { subnet: "10.0.0.0/24", gateway: true }).attach("a", { netns: "a", address: "10.0.1.5" }),
    `Attachment "x8-a" of segment "x8": address "10.0.1.5" is not valid: it is outside the subnet 10.0.0.0/24; use an address from 10.0.0.1 to 10.0.0.254 other than the gateway 10.0.0.1, or leave address out to derive a free one from the name`,
  ],
  [
    "rejects publishing a port of a segment whose gateway is on a router",
    () => new nslab.Segment("x9", { subnet: "10.0.0.0/24", gateway: true, gatewayOn: "router" }).attach("a", { netns: "a" }).publish({ port: 80 }),
    `PublishedPort "x9-a-tcp80": segment "x9" has no gateway on its bridge, so the bridge's namespace does not route for it; give the segment gateway: true (with gatewayOn "bridge"), or, for a segment behind a Router, publish it with the Router's publish`,
  ],
  [
    "rejects publishing a port of an IPv6 segment",
    () => new nslab.Segment("x10", { subnet: "fd00::/64", gateway: true }).attach("a", { netns: "a" }).publish({ port: 80 }),
    `PublishedPort "x10-a-tcp80": segment "x10" is IPv6; ports are published with iptables, IPv4 only`,
  ],
  [
    "rejects a port out of range",
    () => new nslab.Segment("x11", { subnet: "10.0.0.0/24", gateway: true }).attach("a", { netns: "a" }).publish({ port: 80, hostPort: 70000 }),
    `PublishedPort "x11-a-tcp70000": hostPort 70000 is not valid: use an integer from 1 to 65535`,
  ],
  [
    "rejects a router joining a segment whose gateway is on its bridge",
    () => new nslab.Router("r1", { segments: [new nslab.Segment("x12", { subnet: "10.0.0.0/24", gateway: true })] }),
    `Router "r1": segment "x12" is not valid: its gateway is on its bridge; a router holds the gateways of the segments it joins: give it gateway (true or an address) and gatewayOn "router"`,
  ],
  [
    "rejects a router with both netns and inHost",
    () => new nslab.Router("r2", { segments: [], netns: "x", inHost: true }),
    `Router "r2": netns and inHost true are exclusive: route in a given namespace, or in the host's`,
  ],
  [
    "rejects an allow rule with a port and no protocol",
    () => new nslab.Router("r3", { segments: [new nslab.Segment("x13", { subnet: "10.0.0.0/24", gateway: true, gatewayOn: "router" })], allow: [{ from: "10.0.0.0/24", to: "10.9.0.0/24", port: 80 }] }),
    `Router "r3": allow[0] port 80 needs protocol "tcp" or "udp" (got "all"); set protocol`,
  ],
  [
    "rejects an allow rule naming a segment the router does not join",
    () => {
      const s = new nslab.Segment("x14", { subnet: "10.0.0.0/24", gateway: true, gatewayOn: "router" });
      const other = new nslab.Segment("x15", { subnet: "10.9.0.0/24" });
      return new nslab.Router("r4", { segments: [s], allow: [{ from: s, to: other }] });
    },
    `Router "r4": allow[0] names segment "x15", which the router does not join; add it to segments or give its subnet 10.9.0.0/24 as a string`,
  ],
  [
    "rejects a filter policy on IPv6 segments",
    () => new nslab.Router("r5", { segments: [new nslab.Segment("x16", { subnet: "fd00::/64", gateway: true, gatewayOn: "router" })], allow: [] }),
    `Router "r5": allow is not valid with the IPv6 segment "x16": the filter policy uses iptables, IPv4 only; leave allow out`,
  ],
  [
    "rejects a segment joined twice",
    () => {
      const s = new nslab.Segment("x17", { subnet: "10.0.0.0/24", gateway: true, gatewayOn: "router" });
      return new nslab.Router("r6", { segments: [s, s] });
    },
    `Router "r6": segment "x17" is joined twice: give each segment once`,
  ],
  ...routerCase("nat without an uplink", { nat: true }, `nat true needs an uplink: give uplink { address, … } (the router's leg to the outside)`),
  ...routerCase(
    "published ports without an uplink",
    { publish: [{ port: 80, to: new nslab.Segment("pubseg", { subnet: "10.3.0.0/24", gateway: true, gatewayOn: "router" }).attach("web", { netns: "web" }) }] },
    `publish [tcp/80] needs an uplink: give uplink { address, … } (the router's leg to the outside)`,
  ),
  ...routerCase("inbound without an uplink", { inbound: "drop" }, `inbound "drop" needs an uplink: give uplink { address, … } (the router's leg to the outside)`),
  ...routerCase("an uplink address without prefix length", { uplink: { address: "203.0.113.2" } }, `uplink.address "203.0.113.2" is not valid: use an IPv4 address with prefix length, e.g. "203.0.113.2/24"`),
  ...routerCase("an IPv6 uplink", { uplink: { address: "2001:db8::2/64" } }, `uplink.address "2001:db8::2/64" is not valid: the uplink is IPv4 only (NAT, published ports and the inbound policy use iptables)`),
  ...routerCase("the uplink's network address", { uplink: { address: "203.0.113.0/24" } }, `uplink.address "203.0.113.0/24" is not valid: it is the network or broadcast address of 203.0.113.0/24; use a host address`),
  ...routerCase(
    "a peer address in another network",
    { uplink: { address: "203.0.113.2/24", peerAddress: "203.0.114.1/24" } },
    `uplink.peerAddress "203.0.114.1/24" is not valid: it is not in the uplink's network 203.0.113.0/24; use another address of 203.0.113.0/24 with /24`,
  ),
  ...routerCase("a gateway outside the uplink's network", { uplink: { address: "203.0.113.2/24", gateway: "10.0.0.1" } }, `uplink.gateway "10.0.0.1" is not valid: it is outside the uplink's network 203.0.113.0/24; use another address of 203.0.113.0/24`),
  ...routerCase("an unknown inbound", { uplink: { address: "203.0.113.2/24" }, inbound: "reject" as "drop" }, `inbound "reject" is not valid: use "drop" (only replies and published ports come in) or "allow"`),
  ...routerCase("a router in the host with an uplink into the host", { inHost: true, uplink: { address: "203.0.113.2/24" } }, `uplink.netns is unset with inHost true: both ends of the uplink would be in the host; give uplink.netns (the outside's namespace) or route in a namespace`),
  [
    "rejects publishing to a host of a segment the router does not join, or a port twice",
    () => {
      const s = new nslab.Segment("x18", { subnet: "10.0.0.0/24", gateway: true, gatewayOn: "router" });
      const away = new nslab.Segment("x19", { subnet: "10.1.0.0/24", gateway: true, gatewayOn: "router" }).attach("h", { netns: "h" });
      const up = { address: "203.0.113.2/24" };
      const twice = thrown(() => new nslab.Router("r7", { segments: [s], uplink: up, publish: [{ port: 80, to: s.attach("a", { netns: "a" }) }, { port: 80, to: s.attach("b", { netns: "b" }), toPort: 81 }] }));
      const r8 = thrown(() => new nslab.Router("r8", { segments: [s], uplink: up, publish: [{ port: 0, to: away }] }));
      throw new Error([r8, thrown(() => new nslab.Router("r9", { segments: [s], uplink: up, publish: [{ port: 80, to: away }] })), twice].join("\n"));
    },
    [
      `Router "r8": publish[0].port 0 is not valid: use an integer from 1 to 65535`,
      `Router "r9": publish[0].to is attached to segment "x19", which the router does not join; add the segment to segments`,
      `Router "r7": publish[1] is not valid: publish[0] already publishes tcp port 80; publish each port once`,
    ].join("\n"),
  ],
];

/** A case of a one-segment router with `args`, refused with `why`. */
function routerCase(title: string, args: Partial<import("../../sdk").RouterArgs>, why: string): [string, () => unknown, string][] {
  const n = `rc${routerCases++}`;
  return [[`rejects ${title}`, () => new nslab.Router(n, { segments: [new nslab.Segment(`${n}-s`, { subnet: "10.0.0.0/24", gateway: true, gatewayOn: "router" })], ...args }), `Router "${n}": ${why}`]];
}
for (const [title, construct, message] of cases) {
  errors(title, () => {
    assert.is(thrown(construct), message);
  });
}

errors("a refused component registers nothing: neither itself nor a child", async () => {
  assert.match(thrown(() => new nslab.Segment("bad", { subnet: "10.0.0.0/24", nat: true })), /^Segment "bad": /);
  assert.match(thrown(() => new nslab.Router("badrt", { segments: [new nslab.Segment("fine", { subnet: "10.8.0.0/24" })] })), /^Router "badrt": /);
  await registration("fine-bridge");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(registered.filter((r) => /^bad/.test(r.name)), []);
});

errors.run();
