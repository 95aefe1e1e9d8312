import { suite } from "uvu";
import * as assert from "uvu/assert";
import { providers } from "../../provider";
import type { KindProvider } from "../../provider/lib/kind";
import { owner, sh } from "../helpers/kernel";

// Nothing foreign touched (docs/kernel-facts.md, I7): canary objects nslab did not make — a namespace, links, an
// address, a route, iptables rules in PREROUTING, POSTROUTING and FORWARD, a sysctl — are the
// same byte for byte after a lab of every kind is created beside them and deleted again.

function canaries(): void {
  sh("ip", "netns", "add", "canary-ns");
  sh("ip", "link", "add", "name", "canary0", "type", "veth", "peer", "name", "canary1");
  sh("ip", "link", "add", "name", "canarybr", "type", "bridge");
  sh("ip", "addr", "add", "10.99.0.1/24", "dev", "canary0");
  sh("ip", "link", "set", "dev", "canary0", "up");
  sh("ip", "route", "add", "10.98.0.0/16", "via", "10.99.0.2");
  sh("iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "1234", "-j", "DNAT", "--to-destination", "10.99.0.2:80");
  sh("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.99.0.0/24", "-j", "MASQUERADE");
  sh("iptables", "-A", "FORWARD", "-i", "canary0", "-j", "ACCEPT");
  sh("sysctl", "-q", "-w", "net.ipv4.conf.canary0.forwarding=1");
}

/** Everything about the canaries, as the tools print it. */
function canaryText(): string {
  return [
    sh("ip", "netns", "list"),
    sh("ip", "-n", "canary-ns", "-d", "link", "show"),
    sh("ip", "-d", "link", "show", "dev", "canary0"),
    sh("ip", "-d", "link", "show", "dev", "canary1"),
    sh("ip", "-d", "link", "show", "dev", "canarybr"),
    sh("ip", "addr", "show", "dev", "canary0"),
    sh("ip", "route", "show", "10.98.0.0/16"),
    sh("iptables-save").split("\n").filter((l) => /^-A (PREROUTING|POSTROUTING|FORWARD) /.test(l) && !l.includes("NSLAB")).join("\n"),
    sh("sysctl", "net.ipv4.conf.canary0.forwarding"),
  ].join("\n");
}

function removeCanaries(): void {
  sh("ip", "netns", "del", "canary-ns");
  sh("ip", "link", "del", "dev", "canary0");
  sh("ip", "link", "del", "dev", "canarybr");
  sh("iptables", "-t", "nat", "-F", "PREROUTING");
  sh("iptables", "-t", "nat", "-F", "POSTROUTING");
  sh("iptables", "-F", "FORWARD");
}

/** A lab with every kind, in the order a program would create them. */
const LAB: [keyof typeof providers, Record<string, unknown>][] = [
  ["Netns", { name: "lab" }],
  ["Bridge", { name: "br-lab" }],
  ["VethPair", { name: "v-host", peerName: "v-lab", peerNetns: "lab", master: "br-lab" }],
  ["Address", { device: "br-lab", address: "10.50.0.1/24" }],
  ["Address", { device: "v-lab", netns: "lab", address: "10.50.0.2/24" }],
  ["Route", { destination: "default", via: "10.50.0.1", netns: "lab" }],
  ["Sysctl", { key: "net.ipv4.ip_forward", value: 1 }],
  ["NatRule", { source: "10.50.0.0/24", notOutInterface: "br-lab" }],
  ["PortForward", { hostPort: 8080, toAddress: "10.50.0.2", toPort: 80 }],
  ["FirewallRule", { action: "drop", protocol: "tcp", destinationPort: 23 }],
];

const test = suite("ownership");

test("canary objects survive create and delete of every kind byte for byte (I7)", async () => {
  canaries();
  const before = canaryText();
  const made: { p: KindProvider; id: string; outs: unknown }[] = [];
  for (const [i, [kind, args]] of LAB.entries()) {
    const p = providers[kind];
    const checked = await p.check({}, { ...args, owner: owner(`${kind}-${i}`) });
    assert.equal(checked.failures ?? [], [], kind);
    const { id, outs } = await p.create(checked.inputs);
    made.push({ p, id, outs });
  }
  assert.match(sh("iptables-save"), /NSLAB-POSTROUTING/);
  for (const { p, id, outs } of made.reverse()) await p.delete(id, outs);
  assert.is(canaryText(), before);
  removeCanaries();
});

test.run();
