import * as nslab from "nslab";

// Docker's network modes, as the namespace wiring Docker makes for them:
// - bridge (the default): `docker run` puts a container on docker0, a bridge with NAT;
// - a user-defined bridge (`docker network create mynet`): its own bridge and subnet, isolated
//   from the default one (Docker's DOCKER-ISOLATION chains: nothing is forwarded between them);
// - container:<name>: a second container joins the first one's namespace: no wiring at all, the
//   two processes share interfaces and talk over 127.0.0.1 (here: run both in `apiNetns`);
// - none: a namespace with nothing but loopback;
// - host (not shown): the process stays in the host's namespace.
//
//   host: ip_forward=1, MASQUERADE of both subnets, DROP between them
//   docker0-br-… 10.79.0.1/24 --- eth0 10.79.0.x [solo-…]
//   mynet-bri-…  10.79.1.1/24 --- eth0 10.79.1.y [api-…]   <- container:api shares this namespace
//                              '-- eth0 10.79.1.z [db-…]
//   [none-…] lo only
//
// Container addresses are derived from their names; kernel names get a short hash of the stack.
// 10.79.0.0/16 stays clear of Docker's own pools (172.17-31.x, 192.168.x). It replaces:
//
//   ip link add name docker0 type bridge; ip addr add 10.79.0.1/24 dev docker0; ip link set dev docker0 up
//   ip link add name mynet type bridge;   ip addr add 10.79.1.1/24 dev mynet;   ip link set dev mynet up
//   sysctl -w net.ipv4.ip_forward=1
//   iptables -t nat -A POSTROUTING -s 10.79.0.0/24 ! -o docker0 -j MASQUERADE
//   iptables -t nat -A POSTROUTING -s 10.79.1.0/24 ! -o mynet -j MASQUERADE
//   iptables -I FORWARD -s 10.79.0.0/24 -d 10.79.1.0/24 -j DROP
//   iptables -I FORWARD -s 10.79.1.0/24 -d 10.79.0.0/24 -j DROP
//   # per container (solo on docker0; api and db on mynet):
//   ip netns add solo; ip -n solo link set dev lo up
//   ip link add name vethsolo master docker0 type veth peer name eth0 netns solo; ip link set dev vethsolo up
//   ip -n solo addr add 10.79.0.x/24 dev eth0; ip -n solo link set dev eth0 up
//   ip -n solo route add default via 10.79.0.1
//   # --network none:
//   ip netns add none; ip -n none link set dev lo up

// bridge: the default network.
const docker0 = new nslab.Segment("docker0", { subnet: "10.79.0.0/24", gateway: true, nat: true });
const solo = new nslab.Netns("solo");
const soloContainer = docker0.attach("solo", { netns: solo });

// A user-defined bridge network with two containers.
const mynet = new nslab.Segment("mynet", { subnet: "10.79.1.0/24", gateway: true, nat: true });
const api = new nslab.Netns("api");
const apiContainer = mynet.attach("api", { netns: api });
const db = new nslab.Netns("db");
const dbContainer = mynet.attach("db", { netns: db });

// Isolation between the two networks, both ways, in the host that routes for both.
new nslab.FirewallRule("isolate-docker0-mynet", { action: "drop", source: docker0.subnet, destination: mynet.subnet });
new nslab.FirewallRule("isolate-mynet-docker0", { action: "drop", source: mynet.subnet, destination: docker0.subnet });

// none: loopback only.
const none = new nslab.Netns("none");

export const soloNetns = solo.name;
export const soloAddress = soloContainer.address;
export const apiNetns = api.name;
export const apiAddress = apiContainer.address;
export const dbNetns = db.name;
export const dbAddress = dbContainer.address;
export const noneNetns = none.name;
