import * as pulumi from "@pulumi/pulumi";
import * as nslab from "nslab";

// A namespace on this machine and one on each of two lab hosts, all three on one subnet: a
// Segment across the three hosts makes a bridge on each and joins them with VXLAN over the hosts'
// underlay addresses, so the namespaces share one L2 network and one address plan.
//
//   this machine (underlay)       host east                     host west
//   [here] eth0 10.77.0.x         [east] eth0 10.77.0.x         [west] eth0 10.77.0.x
//       |                             |                             |
//   lan bridge ---- vxlan ---------- lan bridge ---- vxlan -------- lan bridge
//       \___________________________ vxlan ___________________________/
//
// Config: `hosts`, the two lab hosts ([{ address, user?, port?, identityFile? }, ...]), reached
// over SSH; each one's address is also its underlay address. `underlay`, this machine's address on
// the same network. `nslab sandbox examples/two-hosts` starts two such hosts and sets both.

const config = new pulumi.Config();
const [east, west] = config.requireObject<nslab.Host[]>("hosts");
if (!east || !west) throw new Error("config hosts: give two lab hosts, e.g. --config 'hosts=[{\"address\":\"192.0.2.2\"},{\"address\":\"192.0.2.3\"}]'");

const lan = new nslab.Segment("lan", {
  subnet: "10.77.0.0/24",
  hosts: [{ underlay: config.require("underlay") }, { host: east, underlay: east.address }, { host: west, underlay: west.address }],
});

// A Netns is made on its host; its attachment goes on the same host's bridge.
const here = lan.attach("here", { netns: new nslab.Netns("here") });
const onEast = lan.attach("east", { netns: new nslab.Netns("east", { host: east }), host: east });
const onWest = lan.attach("west", { netns: new nslab.Netns("west", { host: west }), host: west });

export const addresses = { here: here.address, east: onEast.address, west: onWest.address };
export const namespaces = { here: here.netns, east: onEast.netns, west: onWest.netns };
export const vni = lan.tunnels[0]!.vni;
