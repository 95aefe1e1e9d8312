import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  broadcast,
  cidrProblem,
  contains,
  familyOf,
  formatCidr,
  formatIp,
  hasHostBits,
  ipProblem,
  isLimitedBroadcast,
  isLinkLocal,
  isMulticast,
  isUnspecified,
  maskOf,
  network,
  networkCidr,
  parseCidr,
  parseIp,
} from "../../provider/lib/cidr";

const must = <T>(v: T | undefined, what: string): T => {
  assert.ok(v !== undefined, what);
  return v!;
};

const parse = suite("cidr: parseIp and formatIp");

// [input, canonical form] — the canonical form is what glibc inet_ntop (and so `ip`) prints.
const canonical: [string, string][] = [
  ["10.0.0.1", "10.0.0.1"],
  ["0.0.0.0", "0.0.0.0"],
  ["255.255.255.255", "255.255.255.255"],
  ["2001:db8::1", "2001:db8::1"],
  ["2001:DB8::1", "2001:db8::1"],
  ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
  ["::", "::"],
  ["::1", "::1"],
  ["1::", "1::"],
  ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
  ["1:0:0:1:0:0:0:1", "1:0:0:1::1"],
  ["1:0:0:1:1:0:0:1", "1::1:1:0:0:1"],
  ["1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"],
  ["2001:db8::0:1", "2001:db8::1"],
  ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
  ["::ffff:a00:1", "::ffff:10.0.0.1"],
  ["::a00:1", "::10.0.0.1"],
  ["::2", "::2"],
  ["64:ff9b::10.0.0.1", "64:ff9b::a00:1"],
  ["fe80::1", "fe80::1"],
];
for (const [input, out] of canonical) {
  parse(`formats ${JSON.stringify(input)} as ${JSON.stringify(out)}`, () => {
    assert.is(formatIp(must(parseIp(input), input)), out);
  });
}

const notAddresses = ["", " 10.0.0.1", "10.0.0.1 ", "10.0.0", "10.0.0.1.2", "010.0.0.1", "10.0.0.256", "300.0.0.1", "0x0a000002", "10.0.0.-1",
  "2001:db8:::1", "2001:db8::g", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "1:2:3:4:5:6:7", ":1:2:3:4:5:6:7", "12345::1",
  "fe80::1%eth0", "1.2.3.4::", "::1.2.3", "10.0.0.1/24"];
for (const input of notAddresses) {
  parse(`rejects ${JSON.stringify(input)} as an address`, () => assert.is(parseIp(input), undefined));
}

parse("reads the value and family", () => {
  assert.equal(parseIp("10.0.0.1"), { family: 4, value: 0x0a000001n });
  assert.equal(parseIp("::ffff:1.2.3.4"), { family: 6, value: 0xffff01020304n });
  assert.equal(parseIp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), { family: 6, value: (1n << 128n) - 1n });
});
parse.run();

const cidr = suite("cidr: parseCidr and prefix arithmetic");

cidr("parses a CIDR with an explicit prefix, host bits allowed", () => {
  assert.equal(parseCidr("10.0.0.1/24"), { family: 4, value: 0x0a000001n, prefix: 24 });
  assert.equal(parseCidr("2001:db8::/32"), { family: 6, value: 0x20010db8n << 96n, prefix: 32 });
  assert.is(formatCidr(must(parseCidr("2001:0DB8::1/64"), "v6")), "2001:db8::1/64");
});

for (const input of ["10.0.0.1", "10.0.0.1/33", "10.0.0.1/-1", "10.0.0.1/", "10.0.0.1/024", "10.0.0.1/24/1", "fe80::1/129", "10.0.0.1/ 24"]) {
  cidr(`rejects ${JSON.stringify(input)} as a CIDR`, () => assert.is(parseCidr(input), undefined));
}

// [cidr, network, broadcast (last address), has host bits]
const arithmetic: [string, string, string, boolean][] = [
  ["10.0.0.1/24", "10.0.0.0", "10.0.0.255", true],
  ["10.8.0.0/16", "10.8.0.0", "10.8.255.255", false],
  ["10.0.0.1/31", "10.0.0.0", "10.0.0.1", true],
  ["10.0.0.1/32", "10.0.0.1", "10.0.0.1", false],
  ["0.0.0.0/0", "0.0.0.0", "255.255.255.255", false],
  ["192.168.1.77/26", "192.168.1.64", "192.168.1.127", true],
  ["2001:db8::1/64", "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", true],
  ["::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false],
];
for (const [c, net, bc, hostBits] of arithmetic) {
  cidr(`${c}: network ${net}, last address ${bc}, host bits ${hostBits}`, () => {
    const p = must(parseCidr(c), c);
    assert.is(formatIp(network(p)), net);
    assert.is(formatIp(broadcast(p)), bc);
    assert.is(hasHostBits(p), hostBits);
    assert.is(formatCidr(networkCidr(p)), `${net}/${p.prefix}`);
  });
}

cidr("masks of every width", () => {
  assert.is(maskOf(4, 0), 0n);
  assert.is(maskOf(4, 24), 0xffffff00n);
  assert.is(maskOf(4, 32), 0xffffffffn);
  assert.is(maskOf(6, 64), ((1n << 64n) - 1n) << 64n);
  assert.is(maskOf(6, 128), (1n << 128n) - 1n);
});

// [prefix, address or prefix, contained]
const containment: [string, string, boolean][] = [
  ["10.0.0.0/24", "10.0.0.5", true],
  ["10.0.0.1/24", "10.0.0.255", true],
  ["10.0.0.0/24", "10.0.1.5", false],
  ["10.0.0.0/8", "10.1.0.0/16", true],
  ["10.1.0.0/16", "10.0.0.0/8", false],
  ["0.0.0.0/0", "192.0.2.1", true],
  ["10.0.0.0/24", "::ffff:10.0.0.5", false],
  ["2001:db8::/64", "2001:db8::9", true],
  ["2001:db8::/64", "2001:db8:1::9", false],
  ["10.0.0.0/31", "10.0.0.1", true],
  ["10.0.0.1/32", "10.0.0.1", true],
  ["10.0.0.1/32", "10.0.0.2", false],
];
for (const [c, x, yes] of containment) {
  cidr(`${c} ${yes ? "contains" : "does not contain"} ${x}`, () => {
    assert.is(contains(must(parseCidr(c), c), must(parseCidr(x) ?? parseIp(x), x)), yes);
  });
}

cidr("classifies special addresses", () => {
  const ip = (t: string) => must(parseIp(t), t);
  assert.equal([isMulticast(ip("224.0.0.5")), isMulticast(ip("239.255.255.255")), isMulticast(ip("223.255.255.255"))], [true, true, false]);
  assert.equal([isMulticast(ip("ff02::1")), isMulticast(ip("fe80::1"))], [true, false]);
  assert.equal([isUnspecified(ip("0.0.0.0")), isUnspecified(ip("::")), isUnspecified(ip("::1"))], [true, true, false]);
  assert.equal([isLimitedBroadcast(ip("255.255.255.255")), isLimitedBroadcast(ip("10.0.0.255"))], [true, false]);
  assert.equal([isLinkLocal(ip("fe80::1")), isLinkLocal(ip("febf::1")), isLinkLocal(ip("fec0::1")), isLinkLocal(ip("169.254.1.1"))], [true, true, false, true]);
  assert.equal([familyOf("10.0.0.1"), familyOf("10.0.0.0/8"), familyOf("::/0"), familyOf("default"), familyOf("10.1/24")], [4, 4, 6, undefined, undefined]);
});
cidr.run();

const problems = suite("cidr: cidrProblem and ipProblem name the canonical form");

for (const ok of ["10.0.0.1/24", "10.0.0.1/32", "0.0.0.0/0", "2001:db8::1/64", "::/0", "::ffff:10.0.0.1/128"]) {
  problems(`accepts ${JSON.stringify(ok)}`, () => assert.is(cidrProblem(ok), undefined));
}

// B9 and B10 (docs/kernel-facts.md, "Checklist"): [input, a fragment the message must contain]
const bad: [string, string][] = [
  ["10.1/24", `write "10.1.0.0/24"`],
  ["10/8", `write "10.0.0.0/8"`],
  ["10.0.1/24", `write "10.0.1.0/24"`],
  ["010.000.000.011/24", `write "10.0.0.11/24" (ip would read the leading zeros as octal: 8.0.0.9)`],
  ["0x0a000002/24", `write "10.0.0.2/24" ("0x0a000002" read as one 32-bit number)`],
  [" 10.0.0.5/24", `write "10.0.0.5/24"`],
  ["10.0.0.5/024", `write "10.0.0.5/24"`],
  ["10.0.0.6", `give the prefix length explicitly, e.g. "10.0.0.6/24" (or "/32" for a single address)`],
  ["2001:DB8::1/64", `write "2001:db8::1/64"`],
  ["2001:db8:0:0:0:0:0:1/64", `write "2001:db8::1/64"`],
  ["2001:db8::1", `"/128" for a single address`],
  ["10.0.0.1/33", "the prefix length must be an integer from 0 to 32 for IPv4"],
  ["10.0.0.1/-1", "the prefix length must be an integer from 0 to 32 for IPv4"],
  ["10.0.0.1/", "the prefix length must be an integer from 0 to 32 for IPv4"],
  ["fe80::1/129", "the prefix length must be an integer from 0 to 128 for IPv6"],
  ["300.0.0.1/24", "it is not an IPv4 or IPv6 address"],
  ["2001:db8:::1/64", "it is not an IPv4 or IPv6 address"],
  ["2001:db8::g/64", "it is not an IPv4 or IPv6 address"],
  ["default", "it is not an IPv4 or IPv6 address"],
  ["10.0.0.1/24/2", "one prefix length"],
];
for (const [input, fragment] of bad) {
  problems(`rejects ${JSON.stringify(input)}`, () => {
    const p = cidrProblem(input);
    assert.ok(p?.includes(fragment), `${p}\n  should contain\n${fragment}`);
  });
}

problems("ipProblem wants a bare canonical address", () => {
  assert.is(ipProblem("10.0.0.1"), undefined);
  assert.is(ipProblem("fe80::1"), undefined);
  assert.match(ipProblem("10.0.0.1/24")!, /without a prefix length/);
  assert.match(ipProblem("FE80::1")!, /write "fe80::1"/);
  assert.match(ipProblem("10.1")!, /write "10.1.0.0"/);
});
problems.run();
