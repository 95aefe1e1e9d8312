import * as pulumi from "@pulumi/pulumi";
import * as nslab from "nslab";

// The star of `npm run bench:hosts` (bench/hosts.ts): `n` namespaces on one subnet with a gateway,
// split in turn over the lab hosts of config `hosts` (a JSON list of nslab.Host, each one's
// address also its underlay address). On one host a Segment placed there; on several, a Segment
// across them (a bridge and a Vxlan on each). Per namespace: the Netns, a veth pair into it from
// its host's bridge, an address and a default route.

const config = new pulumi.Config();
const n = config.requireNumber("n");
const hosts = config.requireObject<nslab.Host[]>("hosts");

const star = new nslab.Segment("star", {
  subnet: "10.201.0.0/16",
  gateway: true,
  ...(hosts.length === 1 ? { host: hosts[0] } : { hosts: hosts.map((host) => ({ host, underlay: host.address })) }),
});
for (let i = 0; i < n; i++) {
  const host = hosts[i % hosts.length]!;
  star.attach(`ns${i}`, { netns: new nslab.Netns(`ns${i}`, { name: `star${i}`, host }), host });
}
