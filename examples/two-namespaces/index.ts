import * as nslab from "nslab";

// Two network namespaces joined by a veth pair, one address on each end:
//
//   [red-…]                                     [blue-…]
//   veth-red 10.0.0.1/24  <------ veth ------>  10.0.0.2/24 veth-blue
//
// The namespaces' kernel names are "red" and "blue" plus a short hash of the stack (so two stacks
// never collide); the interfaces inside them need no hash. It replaces:
//
//   ip netns add red; ip netns add blue
//   ip -n red link set dev lo up; ip -n blue link set dev lo up
//   ip -n red link add name veth-red type veth peer name veth-blue netns blue
//   ip -n red addr add 10.0.0.1/24 dev veth-red; ip -n blue addr add 10.0.0.2/24 dev veth-blue
//   ip -n red link set dev veth-red up; ip -n blue link set dev veth-blue up

const red = new nslab.Netns("red");
const blue = new nslab.Netns("blue");

const link = new nslab.VethPair("red-blue", { name: "veth-red", netns: red, peerName: "veth-blue", peerNetns: blue });

// The device is the pair (its first end) or its peer: each Address goes in that end's namespace.
const redIp = new nslab.Address("red-ip", { device: link, address: "10.0.0.1/24" });
const blueIp = new nslab.Address("blue-ip", { device: link.peer, address: "10.0.0.2/24" });

export const redNetns = red.name;
export const blueNetns = blue.name;
export const redAddress = redIp.address;
export const blueAddress = blueIp.address;
