import * as nslab from "nslab";

// A switch in a namespace of its own: a bridge with no address (not even IPv6 link-local ones,
// which the kernel would add to the bridge and to its ports), so it only switches frames between
// its ports. Each host is a namespace joined to it by a veth. The host namespace has no link,
// address or route into the lab: the hosts reach each other and nothing else.
//
//                  [switch-…]  br0 (no address)
//                   port-a          port-b
//                     |               |
//                   eth0            eth0
//             [host-a-…]          [host-b-…]
//             10.1.0.11/24        10.1.0.12/24
//
// It replaces:
//
//   ip netns add switch; ip -n switch link set dev lo up
//   ip netns exec switch sysctl -w net.ipv6.conf.all.disable_ipv6=1
//   ip -n switch link add name br0 type bridge; ip -n switch link set dev br0 up
//   # per host (a, then b with 10.1.0.12):
//   ip netns add host-a; ip -n host-a link set dev lo up
//   ip -n switch link add name port-a type veth peer name eth0 netns host-a
//   ip -n switch link set dev port-a master br0 up
//   ip -n host-a addr add 10.1.0.11/24 dev eth0; ip -n host-a link set dev eth0 up

const sw = new nslab.Netns("switch");
// Writing `all` also sets `default`: every link in the namespace, before or after, gets no IPv6.
new nslab.Sysctl("switch-no-ipv6", { netns: sw, key: "net.ipv6.conf.all.disable_ipv6", value: 1 });
const bridge = new nslab.Bridge("br", { name: "br0", netns: sw });

/** A host on the switch: a namespace whose eth0 is a veth to a port of the bridge. */
function host(name: string, address: string) {
  const netns = new nslab.Netns(`host-${name}`);
  const link = new nslab.VethPair(`port-${name}`, { name: `port-${name}`, netns: sw, master: bridge, peerName: "eth0", peerNetns: netns });
  const ip = new nslab.Address(`host-${name}-ip`, { device: link.peer, address });
  return { netns: netns.name, address: ip.address };
}

const a = host("a", "10.1.0.11/24");
const b = host("b", "10.1.0.12/24");

export const switchNetns = sw.name;
export const hostA = a;
export const hostB = b;
