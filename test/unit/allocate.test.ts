import { suite } from "uvu";
import * as assert from "uvu/assert";
import { contains, formatIp, parseIp } from "../../provider/lib/cidr";
import { allocate, planSubnet, type SubnetPlan } from "../../sdk/components/allocate";

// Address allocation for a Segment's attachments (sdk/components/allocate.ts): the usable host
// addresses of a subnet, the gateway, addresses derived from names (stable when hosts are added),
// explicit addresses, and every mistake refused with the segment, attachment, value and fix.

/** Allocates `names` in order (derived addresses), as a Segment does; name -> address. */
function allocateAll(plan: SubnetPlan, names: string[]): Map<string, string> {
  const taken = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const name of names) {
    const address = allocate(plan, taken, name);
    taken.set(address, name);
    byName.set(name, address);
  }
  return byName;
}

const names = (n: number, prefix = "host") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const plan = suite("planSubnet");

plan("a /24 with gateway true uses the first host address; the usable range excludes network and broadcast", () => {
  const p = planSubnet("lan", "10.0.0.0/24", true);
  assert.is(p.gateway, "10.0.0.1");
  assert.equal([p.first, p.size], [0x0a000001n, 254n]);
  assert.is(p.subnet.prefix, 24);
});

plan("a gateway given as an address is kept; no gateway leaves it undefined", () => {
  assert.is(planSubnet("lan", "10.0.0.0/24", "10.0.0.254").gateway, "10.0.0.254");
  assert.is(planSubnet("lan", "10.0.0.0/24", undefined).gateway, undefined);
  assert.is(planSubnet("lan", "10.0.0.0/24", false).gateway, undefined);
});

plan("/31 has two host addresses and no network or broadcast address (RFC 3021); its gateway is the first", () => {
  const p = planSubnet("p2p", "10.0.0.0/31", true);
  assert.equal([p.gateway, p.size], ["10.0.0.0", 2n]);
  assert.is(allocate(p, new Map(), "peer"), "10.0.0.1");
});

plan("IPv6: every address but the network (Subnet-Router anycast) address is usable; /127 has two", () => {
  const p = planSubnet("v6", "2001:db8:1::/64", true);
  assert.equal([p.gateway, p.size], ["2001:db8:1::1", (1n << 64n) - 1n]);
  assert.is(planSubnet("v6", "2001:db8::/127", true).gateway, "2001:db8::");
  assert.is(planSubnet("v6", "2001:db8::/120", "2001:db8::ff").gateway, "2001:db8::ff", "no broadcast in IPv6");
});

const badSubnets: [string, boolean | string | undefined, string][] = [
  ["10.0.0.1/24", undefined, `Segment "lan": subnet "10.0.0.1/24" is not valid: it has host bits set; write the network, "10.0.0.0/24"`],
  ["10.0.0.0", undefined, `Segment "lan": subnet "10.0.0.0" is not valid: give the prefix length explicitly, e.g. "10.0.0.0/24" (or "/32" for a single address)`],
  ["010.0.0.0/24", undefined, `Segment "lan": subnet "010.0.0.0/24" is not valid: it is not in canonical form; write "10.0.0.0/24" (ip would read the leading zeros as octal: 8.0.0.0). IPv4 is written as four decimal parts 0-255 without leading zeros.`],
  ["10.0.0.0/32", undefined, `Segment "lan": subnet "10.0.0.0/32" is not valid: it has room for one address; a segment needs at least two (its gateway and an attachment, or two attachments): use a prefix of /31 or shorter`],
  ["2001:db8::1/128", true, `Segment "lan": subnet "2001:db8::1/128" is not valid: it has room for one address; a segment needs at least two (its gateway and an attachment, or two attachments): use a prefix of /127 or shorter`],
  ["10.0.0.0/24", "10.0.1.1", `Segment "lan": gateway "10.0.1.1" is not valid: it is outside the subnet 10.0.0.0/24; give an address from 10.0.0.1 to 10.0.0.254, or true for the first`],
  ["10.0.0.0/24", "10.0.0.255", `Segment "lan": gateway "10.0.0.255" is not valid: it is the broadcast address of 10.0.0.0/24; give an address from 10.0.0.1 to 10.0.0.254, or true for the first`],
  ["10.0.0.0/24", "10.0.0.0", `Segment "lan": gateway "10.0.0.0" is not valid: it is the network address of 10.0.0.0/24; give an address from 10.0.0.1 to 10.0.0.254, or true for the first`],
  ["10.0.0.0/24", "10.0.0.1/24", `Segment "lan": gateway "10.0.0.1/24" is not valid: give an address without a prefix length, e.g. "10.0.0.1" or "2001:db8::1"; give an address from 10.0.0.1 to 10.0.0.254, or true for the first`],
  ["2001:db8::/64", "10.0.0.1", `Segment "lan": gateway "10.0.0.1" is not valid: it is IPv4 but the subnet 2001:db8::/64 is IPv6; give an address from 2001:db8::1 to 2001:db8::ffff:ffff:ffff:ffff, or true for the first`],
];
for (const [subnet, gateway, message] of badSubnets) {
  plan(`rejects subnet ${subnet} with gateway ${JSON.stringify(gateway)}`, () => {
    assert.throws(() => planSubnet("lan", subnet, gateway), (e: Error) => e.message === message);
  });
}

plan.run();

const derive = suite("allocate: derived addresses");

derive("200 names in a /24 get 200 distinct host addresses, never the network, broadcast or gateway address", () => {
  const p = planSubnet("lan", "10.0.0.0/24", true);
  const addresses = [...allocateAll(p, names(200)).values()];
  assert.is(new Set(addresses).size, 200);
  for (const a of addresses) {
    assert.match(a, /^10\.0\.0\.\d+$/);
    assert.not.ok(["10.0.0.0", "10.0.0.255", "10.0.0.1"].includes(a), a);
  }
});

derive("a full subnet is used to its last address: 253 names beside the gateway in a /24", () => {
  const p = planSubnet("lan", "10.0.0.0/24", true);
  const addresses = new Set(allocateAll(p, names(253)).values());
  assert.is(addresses.size, 253);
  for (let i = 2; i <= 254; i++) assert.ok(addresses.has(`10.0.0.${i}`), `10.0.0.${i}`);
});

derive("an address depends only on the name and the attachments declared before it: the same every run", () => {
  const p = planSubnet("lan", "10.0.0.0/24", true);
  assert.equal(allocateAll(p, ["web", "db"]), allocateAll(p, ["web", "db"]));
  assert.is(allocateAll(p, ["web", "db"]).get("web"), allocate(p, new Map(), "web"));
  assert.is(allocate(planSubnet("dmz", "10.0.0.0/24", true), new Map(), "web"), allocate(p, new Map(), "web"), "the segment's name plays no part");
});

derive("adding hosts at the end never renumbers the others", () => {
  const p = planSubnet("lan", "10.0.0.0/24", true);
  const before = allocateAll(p, names(50));
  const after = allocateAll(p, [...names(50), ...names(100, "more")]);
  for (const [name, address] of before) assert.is(after.get(name), address, name);
});

derive("reordering renumbers only names whose slots collide; without collisions nothing moves", () => {
  const p = planSubnet("v6", "2001:db8::/64", undefined);
  const forward = allocateAll(p, names(30));
  const backward = allocateAll(p, names(30).reverse());
  assert.equal(forward, backward, "a /64 has no collisions among 30 names");
});

derive("a collision probes forward to the next free address, wrapping around the end of the range", () => {
  const p = planSubnet("tiny", "10.0.0.0/30", undefined); // 10.0.0.1 and 10.0.0.2
  const first = allocate(p, new Map(), "a");
  const other = first === "10.0.0.1" ? "10.0.0.2" : "10.0.0.1";
  // Whatever slot "b" hashes to, the one free address is where it lands.
  assert.is(allocate(p, new Map([[first, "a"]]), "b"), other);
  assert.is(allocate(p, new Map([[other, "x"]]), "a"), first);
});

derive("IPv6: derived addresses are inside the subnet, distinct and canonical", () => {
  const p = planSubnet("v6", "2001:db8:1::/64", true);
  const addresses = [...allocateAll(p, names(100)).values()];
  assert.is(new Set(addresses).size, 100);
  for (const a of addresses) {
    const ip = parseIp(a)!;
    assert.ok(contains(p.subnet, ip), a);
    assert.is(formatIp(ip), a);
    assert.is.not(a, "2001:db8:1::1");
  }
  assert.match(allocate(planSubnet("v6", "fd00::/120", true), new Map(), "web"), /^fd00::[0-9a-f]{1,2}$/);
});

derive("fails when the subnet is full, naming every holder and the fix", () => {
  const p = planSubnet("lan", "10.0.0.0/30", true);
  const taken = new Map([["10.0.0.2", "lan-a"]]);
  assert.throws(
    () => allocate(p, taken, "lan-b"),
    (e: Error) =>
      e.message ===
      `Attachment "lan-b" of segment "lan": address: the subnet 10.0.0.0/30 is full: its 2 usable addresses are taken (the gateway 10.0.0.1, "lan-a"); use a larger subnet (a shorter prefix length)`,
  );
});

derive.run();

const explicit = suite("allocate: explicit addresses");

explicit("an explicit address is kept, and a later derived address never takes it", () => {
  const p = planSubnet("tiny", "10.0.0.0/30", undefined);
  assert.is(allocate(p, new Map(), "a", "10.0.0.2"), "10.0.0.2");
  assert.is(allocate(p, new Map([["10.0.0.2", "a"]]), "b"), "10.0.0.1");
});

const fix = `use an address from 10.0.0.1 to 10.0.0.254 other than the gateway 10.0.0.1, or leave address out to derive a free one from the name`;
const badAddresses: [string, string][] = [
  ["10.0.1.5", `it is outside the subnet 10.0.0.0/24; ${fix}`],
  ["10.0.0.255", `it is the broadcast address of 10.0.0.0/24; ${fix}`],
  ["10.0.0.0", `it is the network address of 10.0.0.0/24; ${fix}`],
  ["10.0.0.1", `it is the segment's gateway; ${fix}`],
  ["10.0.0.07", `it is not in canonical form; write "10.0.0.7" (ip would read the leading zeros as octal: 10.0.0.7). IPv4 is written as four decimal parts 0-255 without leading zeros; ${fix}`],
  ["10.0.0.7/24", `give an address without a prefix length, e.g. "10.0.0.1" or "2001:db8::1"; ${fix}`],
  ["2001:db8::7", `it is IPv6 but the subnet 10.0.0.0/24 is IPv4; ${fix}`],
  ["10.0.0.9", `attachment "lan-db" already has it; give one of the two another address, or leave address out to derive a free one`],
];
for (const [address, why] of badAddresses) {
  explicit(`rejects the explicit address ${address}`, () => {
    const p = planSubnet("lan", "10.0.0.0/24", true);
    assert.throws(() => allocate(p, new Map([["10.0.0.9", "lan-db"]]), "lan-web", address), (e: Error) => e.message === `Attachment "lan-web" of segment "lan": address ${JSON.stringify(address)} is not valid: ${why}`);
  });
}

explicit("rejects an IPv6 address that is not RFC 5952 text, with the canonical form", () => {
  const p = planSubnet("v6", "2001:db8::/64", true);
  assert.throws(() => allocate(p, new Map(), "h", "2001:DB8::7"), /write "2001:db8::7"/);
  assert.is(allocate(p, new Map(), "h", "2001:db8::7"), "2001:db8::7");
});

explicit.run();
