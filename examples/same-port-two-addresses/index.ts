import * as path from "node:path";
import * as nslab from "nslab";

// Two "containers" (namespaces on a Docker-style bridge) both serve HTTP on port 80, and both
// are published on port 80 of the host, each on its own host address:
// `docker run -p 198.51.100.1:80:80 blue` and `docker run -p 198.51.100.2:80:80 green`. Each runs
// a real web server (a Process) that says which container it is; green's link is shaped to
// 8 Mbit/s both ways. A `lan` namespace joined to the host by a veth plays the outside world.
//
//   [lan-…] eth0 198.51.100.100/24 <--veth--> uplink-… 198.51.100.1/24, 198.51.100.2/24   host: ip_forward=1
//                                             apps-br-… 10.79.0.1/24 (bridge)              MASQUERADE 10.79.0.0/24
//                                               |-- veth -- eth0 10.79.0.x [blue-…]   python3 -m http.server 80
//                                               '-- veth -- eth0 10.79.0.y [green-…]  python3 -m http.server 80, 8mbit
//
//   198.51.100.1:80 -> blue:80        198.51.100.2:80 -> green:80
//
// It replaces (per container; blue shown):
//
//   ip netns add blue; ip link add name blue-veth master apps type veth peer name eth0 netns blue
//   ip -n blue addr add 10.79.0.x/24 dev eth0; ip -n blue route add default via 10.79.0.1
//   iptables -t nat -A PREROUTING -d 198.51.100.1 -p tcp --dport 80 -j DNAT --to-destination 10.79.0.x:80 (+ OUTPUT, + FORWARD accept)
//   cd www/blue; setsid ip netns exec blue python3 -m http.server 80 >blue.log 2>&1 &
//   # green's link: tc qdisc add dev green-veth root tbf rate 8mbit ...; tc -n green qdisc add dev eth0 root tbf rate 8mbit ...

const lan = new nslab.Netns("lan");
const uplink = new nslab.VethPair("uplink", { peerName: "eth0", peerNetns: lan });
const first = new nslab.Address("uplink-1", { device: uplink, address: "198.51.100.1/24" });
new nslab.Address("uplink-2", { device: uplink, address: "198.51.100.2/24" }, { dependsOn: [first] });
new nslab.Address("lan-ip", { device: uplink.peer, address: "198.51.100.100/24" });

const apps = new nslab.Segment("apps", { subnet: "10.79.0.0/24", gateway: true, nat: true });

/** A container serving www/<name>/ on port 80, published on hostAddress:80. */
function container(name: string, hostAddress: string, shaping?: nslab.LinkShaping) {
  const netns = new nslab.Netns(name);
  const attachment = apps.attach(name, { netns, shaping });
  attachment.publish({ port: 80, hostPort: 80, hostAddress });
  const server = new nslab.Process(`${name}-server`, {
    netns,
    command: ["python3", "-m", "http.server", "80"],
    cwd: path.join(__dirname, "www", name),
    ready: { tcpPort: 80 },
  });
  return { netns: netns.name, address: attachment.address, published: `${hostAddress}:80`, log: server.logPath };
}

export const lanNetns = lan.name;
export const blue = container("blue", "198.51.100.1");
export const green = container("green", "198.51.100.2", { rate: "8mbit" });
