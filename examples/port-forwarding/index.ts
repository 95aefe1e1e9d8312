import * as path from "node:path";
import * as nslab from "nslab";

// Port forwarding: port 8080 of two host addresses goes to port 80 of two different namespaces,
// for traffic from outside (PREROUTING) and from the host itself (OUTPUT), and it works on a
// host whose FORWARD policy is DROP (any host running Docker): each PortForward lets its own
// forwarded traffic through. "Outside" is a namespace joined to the host by a veth; the host's
// end of it holds both addresses.
//
//   [outside-…]                            host (forwarding on)
//   eth0 203.0.113.100/24 <---- veth ----> uplink-…      203.0.113.1/24, 203.0.113.2/24
//                                          web-a-link-…  10.77.1.1/24 <---- veth ----> eth0 10.77.1.2/24 [web-a-…]
//                                          web-b-link-…  10.77.2.1/24 <---- veth ----> eth0 10.77.2.2/24 [web-b-…]
//
//   203.0.113.1:8080 -> 10.77.1.2:80 (web-a)        203.0.113.2:8080 -> 10.77.2.2:80 (web-b)
//   web-a and web-b: default route via the host's end of their veth (10.77.<n>.1), and a web
//   server on port 80 serving www/<name>/ ("hello from web-a")
//
// The host's ends get the resource name plus a short hash of the stack as their kernel name (so
// two stacks never collide); 203.0.113.0/24 is a documentation range, in use on no real network.
// It replaces:
//
//   ip netns add outside; ip -n outside link set dev lo up
//   ip link add name uplink type veth peer name eth0 netns outside
//   ip addr add 203.0.113.1/24 dev uplink; ip addr add 203.0.113.2/24 dev uplink; ip link set dev uplink up
//   ip -n outside addr add 203.0.113.100/24 dev eth0; ip -n outside link set dev eth0 up
//   sysctl -w net.ipv4.ip_forward=1
//   # per web namespace (a, then b with 10.77.2.0/24 and 203.0.113.2):
//   ip netns add web-a; ip -n web-a link set dev lo up
//   ip link add name web-a-link type veth peer name eth0 netns web-a
//   ip addr add 10.77.1.1/24 dev web-a-link; ip link set dev web-a-link up
//   ip -n web-a addr add 10.77.1.2/24 dev eth0; ip -n web-a link set dev eth0 up
//   ip -n web-a route add default via 10.77.1.1
//   iptables -t nat -A PREROUTING -d 203.0.113.1 -p tcp --dport 8080 -j DNAT --to-destination 10.77.1.2:80
//   iptables -t nat -A OUTPUT     -d 203.0.113.1 -p tcp --dport 8080 -j DNAT --to-destination 10.77.1.2:80
//   iptables -A FORWARD -d 10.77.1.2 -p tcp --dport 80 -m conntrack --ctstate DNAT -j ACCEPT
//   iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
//   cd www/web-a; setsid ip netns exec web-a python3 -m http.server 80 >web-a.log 2>&1 &

const outside = new nslab.Netns("outside");
const uplink = new nslab.VethPair("uplink", { peerName: "eth0", peerNetns: outside });
const first = new nslab.Address("uplink-a", { device: uplink, address: "203.0.113.1/24" });
// The first address of a subnet on a link is its primary, the source of the host's own traffic
// to either address: ordered, so that source is always 203.0.113.1.
new nslab.Address("uplink-b", { device: uplink, address: "203.0.113.2/24" }, { dependsOn: [first] });
const outsideIp = new nslab.Address("outside-ip", { device: uplink.peer, address: "203.0.113.100/24" });

// The host routes between the uplink and the web namespaces.
new nslab.Sysctl("forwarding", { key: "net.ipv4.ip_forward", value: 1 });

/** A namespace on its own veth from the host, /24 `10.77.<n>.0`, serving HTTP on port 80, published on `hostAddress:8080`. */
function web(name: string, n: number, hostAddress: string) {
  const netns = new nslab.Netns(name);
  const link = new nslab.VethPair(`${name}-link`, { peerName: "eth0", peerNetns: netns });
  new nslab.Address(`${name}-gateway`, { device: link, address: `10.77.${n}.1/24` });
  const ip = new nslab.Address(`${name}-ip`, { device: link.peer, address: `10.77.${n}.2/24` });
  // The gateway is on-link only once the namespace's own address is there.
  new nslab.Route(`${name}-default`, { destination: "default", via: `10.77.${n}.1`, device: link.peer }, { dependsOn: [ip] });
  new nslab.PortForward(`${name}-http`, { hostAddress, hostPort: 8080, toAddress: `10.77.${n}.2`, toPort: 80 });
  // The server runs until destroy; its requests are logged in `log`.
  const server = new nslab.Process(`${name}-server`, {
    netns,
    command: ["python3", "-m", "http.server", "80"],
    cwd: path.join(__dirname, "www", name),
    ready: { tcpPort: 80 },
  });
  return { netns: netns.name, address: `10.77.${n}.2`, published: `${hostAddress}:8080`, log: server.logPath };
}

export const outsideNetns = outside.name;
export const outsideAddress = outsideIp.address;
export const webA = web("web-a", 1, "203.0.113.1");
export const webB = web("web-b", 2, "203.0.113.2");
