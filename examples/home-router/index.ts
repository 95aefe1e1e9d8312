import * as path from "node:path";
import * as nslab from "nslab";

// A home (or branch) router: a WAN leg to the "isp" namespace and two LAN segments. The LANs reach
// out through NAT (the isp sees the router's WAN address), the outside reaches in only through the
// published port (tcp 8080 on the WAN address goes to the web server on port 80 of the server in
// LAN A, a Process serving www/), LAN A may open tcp/22 in LAN B, and nothing else crosses (the
// replies of allowed connections do).
//
//   [isp-…] home-uplin-… 203.0.113.1/24
//        |  veth
//   [home-netns-…] uplink 203.0.113.2/24, default via 203.0.113.1; ip_forward=1
//        |  lan-a 192.168.10.1/24                      |  lan-b 192.168.20.1/24
//   lan-a-bridge-… (bridge)                       lan-b-bridge-… (bridge)
//        |  server, laptop 192.168.10.x/24             |  nas, printer 192.168.20.y/24
//
//   NAT:     MASQUERADE 192.168.10.0/24 and 192.168.20.0/24 out of uplink
//   publish: 203.0.113.2:8080 (arriving on uplink) -> server:80
//   filter:  accept lan-a -> lan-b tcp/22; drop the rest between lan-a and lan-b;
//            from uplink (forwarded or to the router): only replies and the published port
//
// It replaces (per segment and per host as in examples/routed-subnets, then):
//
//   ip netns add isp; ip link add name home-uplink netns isp type veth peer name uplink netns router
//   ip -n isp addr add 203.0.113.1/24 dev home-uplink; ip -n router addr add 203.0.113.2/24 dev uplink
//   ip -n router route add default via 203.0.113.1; ip netns exec router sysctl -w net.ipv4.ip_forward=1
//   ip netns exec router iptables -t nat -A POSTROUTING -s 192.168.10.0/24 -o uplink -j MASQUERADE   # and 192.168.20.0/24
//   ip netns exec router iptables -t nat -A PREROUTING -d 203.0.113.2 -i uplink -p tcp --dport 8080 -j DNAT --to-destination <server>:80
//   ip netns exec router iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
//   ip netns exec router iptables -A FORWARD -d <server> -i uplink -p tcp --dport 80 -m conntrack --ctstate DNAT -j ACCEPT
//   ip netns exec router iptables -A FORWARD -s 192.168.10.0/24 -d 192.168.20.0/24 -p tcp --dport 22 -j ACCEPT
//   ip netns exec router iptables -A FORWARD -s 192.168.10.0/24 -d 192.168.20.0/24 -j DROP   # and back
//   ip netns exec router iptables -A FORWARD -i uplink -j DROP
//   ip netns exec router iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
//   ip netns exec router iptables -A INPUT -i uplink -j DROP
//   cd www; setsid ip netns exec server python3 -m http.server 80 </dev/null >web.log 2>&1 &

const isp = new nslab.Netns("isp");
const lanA = new nslab.Segment("lan-a", { subnet: "192.168.10.0/24", gateway: true, gatewayOn: "router" });
const lanB = new nslab.Segment("lan-b", { subnet: "192.168.20.0/24", gateway: true, gatewayOn: "router" });

const host = (segment: nslab.Segment, name: string) => {
  const netns = new nslab.Netns(name);
  return { netns, attachment: segment.attach(name, { netns }) };
};
const server = host(lanA, "server");
const web = new nslab.Process("web", { netns: server.netns, command: ["python3", "-m", "http.server", "80"], cwd: path.join(__dirname, "www"), ready: { tcpPort: 80 } });
const laptop = host(lanA, "laptop");
const nas = host(lanB, "nas");
const printer = host(lanB, "printer");

const router = new nslab.Router("home", {
  segments: [lanA, lanB],
  uplink: { netns: isp, address: "203.0.113.2/24", peerAddress: "203.0.113.1/24", gateway: "203.0.113.1" },
  nat: true,
  publish: [{ port: 8080, to: server.attachment, toPort: 80 }],
  allow: [{ from: lanA, to: lanB, protocol: "tcp", port: 22 }],
});

export const routerNetns = router.netns;
export const webLog = web.logPath;
export const ispNetns = isp.name;
export const hosts = Object.fromEntries(
  Object.entries({ server, laptop, nas, printer }).map(([name, h]) => [name, { netns: h.netns.name, address: h.attachment.address }]),
);
