import * as pulumi from "@pulumi/pulumi";
import * as nslab from "nslab";
import { BRIDGE, members, PEER, SUBNET, TO_PORT } from "../lab";

// The star lab of `npm run bench` (bench/star/lab.ts) with config `n` namespaces: one bridge
// with the gateway address, per namespace a veth pair from the bridge into it with an address
// and a default route, forwarding, NAT for the subnet, and a port forward per namespace. With
// config `rate` (e.g. 8mbit), each namespace's link is also shaped: a TrafficControl on its end.

const config = new pulumi.Config();
const n = config.requireNumber("n");
const rate = config.get("rate");

const bridge = new nslab.Bridge("bridge", { name: BRIDGE.name });
new nslab.Address("bridge-ip", { device: bridge, address: BRIDGE.address });
new nslab.Sysctl("forwarding", { key: "net.ipv4.ip_forward", value: 1 });
new nslab.NatRule("nat", { source: SUBNET, notOutInterface: bridge.name });

for (const m of members(n)) {
  const ns = new nslab.Netns(`ns${m.i}`, { name: m.netns });
  const veth = new nslab.VethPair(`veth${m.i}`, { name: m.veth, master: bridge, peerName: PEER, peerNetns: ns });
  const ip = new nslab.Address(`ip${m.i}`, { device: veth.peer, address: m.address });
  new nslab.Route(`default${m.i}`, { destination: "default", via: BRIDGE.ip, device: veth.peer }, { dependsOn: [ip] });
  new nslab.PortForward(`web${m.i}`, { hostPort: m.hostPort, toAddress: m.ip, toPort: TO_PORT });
  if (rate) new nslab.TrafficControl(`shape${m.i}`, { device: veth.peer, rate });
}
