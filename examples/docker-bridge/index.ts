import * as path from "node:path";
import * as nslab from "nslab";

// Docker's default bridge network, without Docker: "containers" (namespaces) on a bridge whose
// address is their gateway, forwarding and MASQUERADE to the outside world, and one published
// port (`docker run -p 8080:80`) of web, which runs a real web server. The outside world is a "lan" namespace joined to the host by a
// veth; it has no route to the containers' subnet, so it only ever sees the host's address.
//
//   [lan-…] eth0 198.51.100.2/24 <-> uplink-… 198.51.100.1/24        host: ip_forward=1,
//                                                                     MASQUERADE 10.78.0.0/24 ! -o docker0-br-…,
//                                                                     DNAT :8080 -> web:80
//                                    docker0-br-… 10.78.0.1/24 (bridge)
//                                      |-- veth -- eth0 10.78.0.x/24 [web-…] default via 10.78.0.1
//                                      '-- veth -- eth0 10.78.0.y/24 [app-…] default via 10.78.0.1
//
// The containers' addresses are derived from their names (stable when containers are added).
// Kernel names get a short hash of the stack, so two stacks never collide. 198.51.100.0/24 is a
// documentation range, and 10.78.0.0/24 stays clear of Docker's own pools (172.17-31.x, 192.168.x).
// It replaces:
//
//   ip netns add lan; ip -n lan link set dev lo up
//   ip link add name uplink type veth peer name eth0 netns lan
//   ip addr add 198.51.100.1/24 dev uplink; ip link set dev uplink up
//   ip -n lan addr add 198.51.100.2/24 dev eth0; ip -n lan link set dev eth0 up
//   ip link add name docker0 type bridge; ip addr add 10.78.0.1/24 dev docker0; ip link set dev docker0 up
//   sysctl -w net.ipv4.ip_forward=1
//   iptables -t nat -A POSTROUTING -s 10.78.0.0/24 ! -o docker0 -j MASQUERADE
//   # per container (web, then app):
//   ip netns add web; ip -n web link set dev lo up
//   ip link add name vethweb master docker0 type veth peer name eth0 netns web; ip link set dev vethweb up
//   ip -n web addr add 10.78.0.x/24 dev eth0; ip -n web link set dev eth0 up
//   ip -n web route add default via 10.78.0.1
//   # docker run -p 8080:80 web:
//   iptables -t nat -A PREROUTING -p tcp -m addrtype --dst-type LOCAL --dport 8080 -j DNAT --to-destination 10.78.0.x:80
//   iptables -t nat -A OUTPUT     -p tcp -m addrtype --dst-type LOCAL --dport 8080 -j DNAT --to-destination 10.78.0.x:80
//   iptables -A FORWARD -d 10.78.0.x -p tcp --dport 80 -m conntrack --ctstate DNAT -j ACCEPT
//   # the container's server:
//   cd www; setsid ip netns exec web python3 -m http.server 80 >web.log 2>&1 &

// The outside world.
const lan = new nslab.Netns("lan");
const uplink = new nslab.VethPair("uplink", { peerName: "eth0", peerNetns: lan });
new nslab.Address("uplink-ip", { device: uplink, address: "198.51.100.1/24" });
new nslab.Address("lan-ip", { device: uplink.peer, address: "198.51.100.2/24" });

// docker0: the bridge, its address as the containers' gateway, forwarding and MASQUERADE.
const docker0 = new nslab.Segment("docker0", { subnet: "10.78.0.0/24", gateway: true, nat: true });

const web = new nslab.Netns("web");
const webContainer = docker0.attach("web", { netns: web });
const app = new nslab.Netns("app");
const appContainer = docker0.attach("app", { netns: app });

// docker run -p 8080:80: port 80 of web on every address of the host.
webContainer.publish({ port: 80, hostPort: 8080 });
// What runs in web: a web server serving www/, until destroy.
const server = new nslab.Process("web-server", { netns: web, command: ["python3", "-m", "http.server", "80"], cwd: path.join(__dirname, "www"), ready: { tcpPort: 80 } });

export const lanNetns = lan.name;
export const hostAddress = "198.51.100.1";
export const lanAddress = "198.51.100.2";
export const bridge = docker0.bridge.name;
export const gateway = docker0.gateway;
export const webNetns = web.name;
export const webAddress = webContainer.address;
export const webLog = server.logPath;
export const appNetns = app.name;
export const appAddress = appContainer.address;
