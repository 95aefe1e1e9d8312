import { suite } from "uvu";
import * as assert from "uvu/assert";
import { conflicts, declaredByHash, type KernelView } from "../../provider/lib/conflicts";
import { ownerHash, type Owner } from "../../provider/lib/owner";
import { UNKNOWN } from "../../provider/lib/check";

// The conflict checks of one program at Check (docs/design.md, "Validate before touching the
// kernel"), on a made-up kernel: who is checked second names who was first; a resource checked
// again never conflicts with itself; unknown values are skipped. Each test uses names of its own
// (the declarations live for the process, as in the provider host).

const test = suite("conflicts");
const kernel: KernelView = { netnsExists: (n) => n === "outside", hostLinkExists: (n) => n === "eth0" };
const owner = (name: string): Owner => ({ project: "lab", stack: "dev", path: [name] });
const reasons = (kind: Parameters<typeof conflicts>[0], name: string, inputs: Record<string, unknown>) =>
  conflicts(kind, { ...inputs, owner: owner(name) }, kernel).map((f) => `${kind} "${name}": ${f.property} ${f.reason}`);

test("the same namespace name twice: the second names the first; checking one again is no conflict", () => {
  assert.equal(reasons("Netns", "n1", { name: "twice" }), []);
  assert.equal(reasons("Netns", "n1", { name: "twice" }), [], "a resource checked again (preview, then up)");
  assert.equal(reasons("Netns", "n2", { name: "twice" }), [`Netns "n2": name "twice" is not valid: Netns "n1" also makes namespace "twice"; two resources cannot make the same kernel object: drop one of them, or change this one`]);
});

test("sysctls share a key only at one value", () => {
  assert.equal(reasons("Sysctl", "s1", { key: "net.ipv4.ip_forward", value: 1 }), []);
  assert.equal(reasons("Sysctl", "s2", { key: "net.ipv4.ip_forward", value: "1" }), []);
  assert.match(reasons("Sysctl", "s3", { key: "net.ipv4.ip_forward", value: 0 })[0]!, /^Sysctl "s3": value 0 is not valid: Sysctl "s\d" holds net\.ipv4\.ip_forward in the host namespace at "1", not "0"/);
});

test("a namespace nothing makes is refused unless it exists; an unknown one is skipped", () => {
  assert.match(reasons("NatRule", "r1", { netns: "nowhere", source: "10.0.0.0/24" })[0]!, /netns "nowhere" is not valid: no Netns checked before this resource makes namespace "nowhere", and it does not exist/);
  assert.equal(reasons("NatRule", "r2", { netns: "outside", source: "10.0.0.0/24" }), []);
  assert.equal(reasons("NatRule", "r3", { netns: UNKNOWN, source: "10.0.0.0/24" }), []);
});

test("port forwards overlap when protocol and port match and the address either matches or is any", () => {
  reasons("Netns", "pf-ns", { name: "pf" });
  assert.equal(reasons("PortForward", "pf1", { netns: "pf", hostPort: 80, protocol: "tcp", hostAddress: "10.0.0.1" }), []);
  assert.equal(reasons("PortForward", "pf2", { netns: "pf", hostPort: 80, protocol: "udp" }), []);
  assert.equal(reasons("PortForward", "pf3", { netns: "pf", hostPort: 80, protocol: "tcp", hostAddress: "10.0.0.2" }), []);
  assert.match(reasons("PortForward", "pf4", { netns: "pf", hostPort: 80, protocol: "tcp" })[0]!, /PortForward "pf4": hostPort 80 is not valid: PortForward "pf1" also forwards tcp port 80 of 10\.0\.0\.1/);
});

test("a device or bridge made only in another of the program's namespaces; a host link that exists is fine", () => {
  reasons("Netns", "d-a", { name: "da" });
  reasons("Netns", "d-b", { name: "db" });
  reasons("Bridge", "d-br", { name: "br0", netns: "da" });
  reasons("VethPair", "d-veth", { name: "eth0", netns: "da", peerName: "p0", peerNetns: "db" });
  assert.match(reasons("VethPair", "d-port", { name: "x0", netns: "db", master: "br0", peerName: "x1" })[0]!, /master "br0" is not valid: Bridge "d-br" makes "br0" in namespace "da", but this resource is in namespace "db"/);
  assert.match(reasons("Address", "d-ip", { device: "eth0", netns: "db", address: "10.1.0.1/24" })[0]!, /device "eth0" is not valid: VethPair "d-veth" makes "eth0" in namespace "da"/);
  assert.equal(reasons("Address", "d-host", { device: "eth0", address: "10.1.0.1/24" }), [], "the host has an eth0 of its own");
});

test("a gateway in a namespace of the program's that no Address checked before covers", () => {
  reasons("Netns", "g-ns", { name: "gw" });
  reasons("Address", "g-ip", { device: "v0", netns: "gw", address: "10.2.0.1/24" });
  assert.equal(reasons("Route", "g-ok", { netns: "gw", destination: "default", via: "10.2.0.254", table: "main" }), []);
  assert.match(reasons("Route", "g-bad", { netns: "gw", destination: "10.9.0.0/16", via: "10.3.0.1", table: "main" })[0]!, /via "10\.3\.0\.1" is not valid: no Address declared before this route covers gateway 10\.3\.0\.1 in namespace "gw"/);
  assert.match(reasons("Route", "g-dev", { netns: "gw", device: "v1", destination: "10.8.0.0/16", via: "10.2.0.254", table: "main" })[0]!, /covers gateway 10\.2\.0\.254 on "v1"/);
  assert.equal(reasons("Route", "g-out", { netns: "outside", destination: "default", via: "10.3.0.1", table: "main" }), [], "a namespace made outside may have addresses of its own");
});

test("a route through a link the program makes down", () => {
  reasons("Netns", "dn-ns", { name: "dn" });
  reasons("VethPair", "dn-veth", { name: "d0", netns: "dn", peerName: "d1", up: false });
  assert.match(reasons("Route", "dn-route", { netns: "dn", device: "d0", destination: "10.6.0.0/16", table: "main" })[0]!, /Route "dn-route": device "d0" is not valid: VethPair "dn-veth" makes "d0" in namespace "dn" down \(up: false\)/);
});

test("the same route identity twice, metric unset and 0 alike for IPv4", () => {
  reasons("Netns", "rt-ns", { name: "rt" });
  reasons("Address", "rt-ip", { device: "v0", netns: "rt", address: "10.4.0.1/24" });
  assert.equal(reasons("Route", "rt1", { netns: "rt", destination: "10.5.0.0/16", via: "10.4.0.2", table: "main" }), []);
  assert.match(reasons("Route", "rt2", { netns: "rt", destination: "10.5.0.0/16", via: "10.4.0.3", metric: 0, table: "main" })[0]!, /Route "rt2": destination "10\.5\.0\.0\/16" is not valid: Route "rt1" also makes the route to 10\.5\.0\.0\/16/);
});

test("of several that conflict, a message names the earliest checked; a resource checked again moves after the rest", () => {
  const named = (r: string[]) => r.map((m) => m.match(/is not valid: \w+ "([^"]+)"/)?.[1]);
  reasons("Netns", "o1", { name: "often" });
  reasons("Netns", "o2", { name: "often" });
  assert.equal(named(reasons("Netns", "o3", { name: "often" })), ["o1"]);
  assert.equal(named(reasons("Netns", "o1", { name: "often" })), ["o2"], "o1 again: o2 and o3 came before it now");
  assert.equal(named(reasons("Netns", "o2", { name: "often" })), ["o3"]);
  reasons("Sysctl", "so1", { netns: "outside", key: "net.ipv4.ip_forward", value: 1 });
  reasons("Sysctl", "so2", { netns: "outside", key: "net.ipv4.ip_forward", value: 0 });
  assert.equal(named(reasons("Sysctl", "so3", { netns: "outside", key: "net.ipv4.ip_forward", value: 1 })), ["so2"], "a same-valued twin is passed over");
  reasons("Netns", "o-a", { name: "oa" });
  reasons("Netns", "o-b", { name: "ob" });
  reasons("Netns", "o-c", { name: "oc" });
  reasons("Bridge", "o-br1", { name: "obr", netns: "oa" });
  reasons("Bridge", "o-br2", { name: "obr", netns: "ob" });
  assert.equal(named(reasons("VethPair", "o-port", { name: "op0", netns: "oc", master: "obr", peerName: "op1" })), ["o-br1"]);
  reasons("Bridge", "o-br1", { name: "obr", netns: "oa" });
  assert.equal(named(reasons("VethPair", "o-port", { name: "op0", netns: "oc", master: "obr", peerName: "op1" })), ["o-br2"]);
  reasons("VethPair", "o-down1", { name: "od0", netns: "oa", peerName: "od1", up: false });
  reasons("VethPair", "o-down2", { name: "od0", netns: "oa", peerName: "od2", up: false });
  assert.equal(named(reasons("Route", "o-route", { netns: "oa", device: "od0", destination: "10.7.0.0/16", table: "main" })), ["o-down1"]);
  reasons("PortForward", "o-pf1", { netns: "oa", hostPort: 81, protocol: "tcp" });
  reasons("PortForward", "o-pf2", { netns: "oa", hostPort: 81, protocol: "tcp", hostAddress: "10.0.0.1" });
  assert.equal(named(reasons("PortForward", "o-pf3", { netns: "oa", hostPort: 81, protocol: "tcp", hostAddress: "10.0.0.1" })), ["o-pf1"]);
});

test("a resource checked again with other values gives up what it declared before", () => {
  reasons("Netns", "re-ns", { name: "re-old" });
  assert.equal(reasons("Netns", "re-ns", { name: "re" }), []);
  assert.equal(reasons("Netns", "re-other", { name: "re-old" }), [], "re-old is no longer made by re-ns");
  assert.equal(reasons("VethPair", "re-veth", { name: "r0", netns: "re", peerName: "r1", up: false }), []);
  assert.equal(reasons("VethPair", "re-veth", { name: "r0", netns: "re", peerName: "r1" }), [], "itself, now up");
  assert.equal(reasons("Route", "re-route", { netns: "re", device: "r0", destination: "10.8.0.0/16", table: "main" }), []);
  assert.equal(reasons("Address", "re-ip", { device: "r0", netns: "re", address: "10.9.0.1/24" }), []);
  assert.equal(reasons("Route", "re-gw", { netns: "re", destination: "default", via: "10.9.0.254", table: "main" }), []);
  reasons("Address", "re-ip", { device: "r0", netns: "re", address: "10.10.0.1/24" });
  assert.match(reasons("Route", "re-gw", { netns: "re", destination: "default", via: "10.9.0.254", table: "main" })[0]!, /no Address declared before this route covers gateway 10\.9\.0\.254/);
  assert.equal(reasons("PortForward", "re-pf", { netns: "re", hostPort: 82, protocol: "tcp" }), []);
  assert.equal(reasons("PortForward", "re-pf", { netns: "re", hostPort: 82, protocol: "tcp" }), [], "itself");
  reasons("PortForward", "re-pf", { netns: "re", hostPort: 83, protocol: "tcp" });
  assert.equal(reasons("PortForward", "re-pf2", { netns: "re", hostPort: 82, protocol: "tcp" }), []);
});

test("declaredByHash finds a checked resource by a prefix of its owner hash", () => {
  reasons("Netns", "by-hash", { name: "byhash" });
  assert.is(declaredByHash(ownerHash(owner("by-hash")).slice(0, 6)), `Netns "by-hash"`);
  assert.is(declaredByHash("z"), undefined);
});

test.run();
