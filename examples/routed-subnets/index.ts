import * as nslab from "nslab";

// Two subnets, each an L2 segment (a bridge), joined by a router namespace that holds both
// gateways and forwards between them under a filter policy: clients in A may open tcp/80 on the
// server in B, and nothing else crosses (replies of allowed connections do).
//
//   [client-…] eth0 10.81.1.x/24                                        [server-…] eth0 10.81.2.y/24
//        |  default via 10.81.1.1                                            |  default via 10.81.2.1
//   a-bridge-… (bridge) --- veth --- a 10.81.1.1/24 [router-netns-…] b 10.81.2.1/24 --- veth --- b-bridge-… (bridge)
//                                    ip_forward=1; FORWARD: accept 10.81.1.0/24 -> server tcp/80,
//                                    drop 10.81.1.0/24 <-> 10.81.2.0/24
//
// The bridges are in the host's namespace, which has no address on them: the host is no part of
// either subnet. Addresses of attachments are derived from their names. It replaces:
//
//   ip netns add router; ip -n router link set dev lo up
//   # per segment (a, then b with 10.81.2.0/24):
//   ip link add name a-bridge type bridge; ip link set dev a-bridge up
//   ip link add name a-leg master a-bridge type veth peer name a netns router; ip link set dev a-leg up
//   ip -n router addr add 10.81.1.1/24 dev a; ip -n router link set dev a up
//   # per host (client on a, server on b):
//   ip netns add client; ip -n client link set dev lo up
//   ip link add name client-veth master a-bridge type veth peer name eth0 netns client; ip link set dev client-veth up
//   ip -n client addr add 10.81.1.x/24 dev eth0; ip -n client link set dev eth0 up
//   ip -n client route add default via 10.81.1.1
//   # the router:
//   ip netns exec router sysctl -w net.ipv4.ip_forward=1
//   ip netns exec router iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
//   ip netns exec router iptables -A FORWARD -s 10.81.1.0/24 -d 10.81.2.y -p tcp --dport 80 -j ACCEPT
//   ip netns exec router iptables -A FORWARD -s 10.81.1.0/24 -d 10.81.2.0/24 -j DROP
//   ip netns exec router iptables -A FORWARD -s 10.81.2.0/24 -d 10.81.1.0/24 -j DROP

const a = new nslab.Segment("a", { subnet: "10.81.1.0/24", gateway: true, gatewayOn: "router" });
const b = new nslab.Segment("b", { subnet: "10.81.2.0/24", gateway: true, gatewayOn: "router" });

const client = new nslab.Netns("client");
const clientHost = a.attach("client", { netns: client });
const server = new nslab.Netns("server");
const serverHost = b.attach("server", { netns: server });

const router = new nslab.Router("router", {
  segments: [a, b],
  allow: [{ from: a, to: serverHost.address, protocol: "tcp", port: 80 }],
});

export const routerNetns = router.netns;
export const clientNetns = client.name;
export const clientAddress = clientHost.address;
export const serverNetns = server.name;
export const serverAddress = serverHost.address;
