import * as fs from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { setCommandHook } from "../../provider/driver/exec";
import { ownerHash } from "../../provider/lib/owner";
import { address, type AddressInputs, type AddressOutputs } from "../../provider/resources/address";
import { checked, created, failures, ok, owner, rejects, sh, UNKNOWN } from "../helpers/kernel";

// Every test makes its own namespaces "a" and "b" joined by a veth pair va (in a) - vb (in b),
// both up, and deletes them at the end (which takes the veth with them).

function lab(): void {
  sh("ip", "netns", "add", "a");
  sh("ip", "netns", "add", "b");
  sh("ip", "-n", "a", "link", "add", "name", "va", "type", "veth", "peer", "name", "vb", "netns", "b");
  sh("ip", "-n", "a", "link", "set", "dev", "va", "up");
  sh("ip", "-n", "b", "link", "set", "dev", "vb", "up");
}

function teardown(...extra: string[]): void {
  for (const ns of ["a", "b", ...extra]) if (fs.existsSync(`/run/netns/${ns}`)) sh("ip", "netns", "del", ns);
}

async function withLab(fn: () => Promise<void>, ...extra: string[]): Promise<void> {
  lab();
  try {
    await fn();
  } finally {
    setCommandHook(undefined);
    teardown(...extra);
  }
}

interface AddrJson {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; label?: string; tentative?: boolean; secondary?: boolean }[];
}

/** The addresses of a device as "<cidr> <label>" (IPv4) or "<cidr>" (IPv6), without link-local ones. */
function addrsOf(netns: string, dev: string): string[] {
  const [link] = JSON.parse(sh("ip", "-n", netns, "-j", "addr", "show", "dev", dev)) as AddrJson[];
  return link!.addr_info.filter((a) => !a.local.startsWith("fe80:")).map((a) => `${a.local}/${a.prefixlen}${a.label ? ` ${a.label}` : ""}`);
}

const input = (o: Partial<AddressInputs>) => checked(address, { device: "va", netns: "a", owner: owner("addr"), ...o });
const hash = ownerHash(owner("addr"));

const test = suite("Address");

test("creates an IPv4 address with its label, reads it back unchanged, deletes it, and deletes again", () =>
  withLab(async () => {
    const inputs = await input({ address: "10.0.0.1/24" });
    const { id, outs } = await created(address, inputs);
    assert.is(id, "addr:a/va/10.0.0.1/24");
    assert.is(outs.label, `va:${hash.slice(0, 12)}`);
    assert.equal(addrsOf("a", "va"), [`10.0.0.1/24 va:${hash.slice(0, 12)}`]);

    assert.equal(await address.read(id, outs), { id, props: outs });

    // No in-place update: `adopt` is the only input that changes without a replace, and it
    // changes nothing in the kernel.
    const news = { ...inputs, adopt: true };
    assert.equal((await address.diff(id, outs, news)).replaces, []);
    const updated = (await address.update(id, outs, news)).outs!;
    assert.equal(updated, { ...outs, adopt: true });
    assert.equal(addrsOf("a", "va"), [`10.0.0.1/24 va:${hash.slice(0, 12)}`]);

    await address.delete(id, updated);
    assert.equal(addrsOf("a", "va"), []);
    assert.equal(await address.read(id, updated), {});
    await address.delete(id, updated);
  }));

test("creates an IPv6 address that is usable at once (nodad: never tentative)", () =>
  withLab(async () => {
    const { id, outs } = await created(address, await input({ address: "2001:db8::1/64" }));
    assert.is(id, "addr:a/va/2001:db8::1/64");
    assert.is(outs.label, undefined);
    const [link] = JSON.parse(sh("ip", "-n", "a", "-j", "-6", "addr", "show", "dev", "va", "to", "2001:db8::1/128")) as AddrJson[];
    assert.equal(link!.addr_info.filter((a) => a.local).map((a) => [a.local, a.prefixlen, a.tentative ?? false]), [["2001:db8::1", 64, false]]);
    // A bind to the address works immediately (it fails with EADDRNOTAVAIL while tentative).
    sh("ip", "netns", "exec", "a", process.execPath, "-e", `require("net").createServer().listen(0, "2001:db8::1", function () { this.close(); })`);
    assert.equal(await address.read(id, outs), { id, props: outs });
    await address.delete(id, outs);
    assert.equal(addrsOf("a", "va"), []);
    assert.equal(await address.read(id, outs), {});
    await address.delete(id, outs);
  }));

test("/31 and /32 addresses are valid, including the first address of a /31", () =>
  withLab(async () => {
    const made: { id: string; outs: AddressOutputs }[] = [];
    for (const a of ["10.0.0.0/31", "10.0.0.9/32", "2001:db8::/127"]) made.push(await created(address, await input({ address: a })));
    assert.equal(addrsOf("a", "va").map((s) => s.split(" ")[0]), ["10.0.0.0/31", "10.0.0.9/32", "2001:db8::/127"]);
    for (const { id, outs } of made) await address.delete(id, outs);
    assert.equal(addrsOf("a", "va"), []);
  }));

test("every change replaces the address, deleting it first", async () => {
  const olds: AddressOutputs = { device: "va", address: "10.0.0.1/24", netns: "a", deviceIdentity: "5a5a5a5a5a5a5a5a", netnsIdentity: "7a7a7a7a7a7a7a7a", owner: owner("addr"), label: `va:${hash.slice(0, 12)}` };
  const cases: [Partial<AddressInputs>, string[]][] = [
    [{ address: "10.0.0.2/24" }, ["address"]],
    [{ address: "10.0.0.1/25" }, ["address"]],
    [{ device: "vb" }, ["device"]],
    [{ netns: "b" }, ["netns"]],
    [{ netns: undefined }, ["netns"]],
    [{ deviceIdentity: "6b6b6b6b6b6b6b6b" }, ["deviceIdentity"]],
    [{ netnsIdentity: "8b8b8b8b8b8b8b8b" }, ["netnsIdentity"]],
    [{ address: UNKNOWN }, ["address"]],
    [{ owner: owner("renamed") }, ["owner"]],
  ];
  for (const [change, replaces] of cases) {
    const d = await address.diff("addr:a/va/10.0.0.1/24", olds, { ...olds, ...change });
    assert.equal([d.changes, d.replaces, d.deleteBeforeReplace], [true, replaces, true], JSON.stringify(change));
  }
  const same = await address.diff("addr:a/va/10.0.0.1/24", olds, { ...olds });
  assert.equal([same.changes, same.replaces], [false, []]);
});

test("create retried after a crash converges: nothing left by a crash before `ip addr add`, our own labelled address adopted after it", () =>
  withLab(async () => {
    const inputs = await input({ address: "10.0.0.1/24" });
    setCommandHook((argv) => {
      if (argv.includes("add")) throw new Error("injected crash");
    });
    await rejects(address.create(inputs), /Address "addr": create: injected crash/);
    setCommandHook(undefined);
    assert.equal(addrsOf("a", "va"), []);

    // The address is added, then the engine dies before recording the result.
    await address.create(inputs);
    const { id, outs } = await created(address, inputs);
    assert.is(outs.label, `va:${hash.slice(0, 12)}`);
    assert.equal(addrsOf("a", "va"), [`10.0.0.1/24 va:${hash.slice(0, 12)}`]);
    await address.delete(id, outs);
    assert.equal(addrsOf("a", "va"), []);
  }));

test("an IPv6 address is owned by its record: a create retried after a lost result takes it; a hand-made one is refused with the adopt advice (I1, I5)", () =>
  withLab(async () => {
    const inputs = await input({ address: "2001:db8::1/64" });
    await address.create(inputs);
    const mine = await created(address, inputs);
    await address.delete(mine.id, mine.outs);
    sh("ip", "-n", "a", "addr", "add", "2001:db8::1/64", "dev", "va", "nodad");
    await rejects(address.create(inputs), /was not made by this resource \(nslab has no record of making it\)/, /ip -n a addr del 2001:db8::1\/64 dev va/, /adopt: true/);
    const { id, outs } = await created(address, { ...inputs, adopt: true });
    await address.delete(id, outs);
    assert.equal(addrsOf("a", "va"), []);
  }));

test("refuses a foreign address of the same identity, never deletes it, and adopt takes it over", () =>
  withLab(async () => {
    sh("ip", "-n", "a", "addr", "add", "10.0.0.1/24", "dev", "va");
    const inputs = await input({ address: "10.0.0.1/24" });
    await rejects(
      address.create(inputs),
      /^Address "addr": create: 10\.0\.0\.1\/24 already exists on "va" in namespace "a" and was not made by this resource/,
      /Remove it with: ip -n a addr del 10\.0\.0\.1\/24 dev va, or set adopt: true to take it over/,
    );
    // What state would hold had we made it: delete and read leave the foreign address alone.
    const ours: AddressOutputs = { ...inputs, label: `va:${hash.slice(0, 12)}` };
    await address.delete("addr:a/va/10.0.0.1/24", ours);
    assert.equal(addrsOf("a", "va"), ["10.0.0.1/24 va"]);
    assert.equal(await address.read("addr:a/va/10.0.0.1/24", ours), {});

    // Another stack's labelled address is foreign too.
    sh("ip", "-n", "a", "addr", "add", "10.0.0.7/24", "dev", "va", "label", `va:${ownerHash(owner("addr", "other")).slice(0, 12)}`);
    await rejects(address.create(await input({ address: "10.0.0.7/24" })), /\(label "va:[0-9a-f]{12}"\)/, /nslab has no record of making it/);
    sh("ip", "-n", "a", "addr", "del", "10.0.0.7/24", "dev", "va");

    const { id, outs } = await created(address, { ...inputs, adopt: true });
    assert.is(outs.label, "va", "the adopted address keeps its label; delete matches it");
    assert.equal(await address.read(id, outs), { id, props: outs });
    await address.delete(id, outs);
    assert.equal(addrsOf("a", "va"), []);
  }));

test("refuses an IPv6 address already on the device with another prefix length, naming it", () =>
  withLab(async () => {
    const r = await created(address, await input({ address: "2001:db8::1/64" }));
    await rejects(
      address.create(await input({ address: "2001:db8::1/80", owner: owner("other") })),
      /2001:db8::1\/80 cannot be added to "va" in namespace "a": the device already holds 2001:db8::1\/64, and an IPv6 address can be on a device only once\. Use the prefix length 64, or remove it with: ip -n a addr del 2001:db8::1\/64 dev va/,
    );
    await address.delete("addr:a/va/2001:db8::1/80", { ...(await input({ address: "2001:db8::1/80" })) });
    assert.equal(addrsOf("a", "va"), ["2001:db8::1/64"], "deleting another prefix length leaves the address alone");
    await address.delete(r.id, r.outs);
  }));

test("D4: a link set down loses its IPv6 addresses, reported gone; IPv4 ones stay", () =>
  withLab(async () => {
    const v4 = await created(address, await input({ address: "10.0.0.1/24" }));
    const v6 = await created(address, await input({ address: "2001:db8::1/64" }));
    sh("ip", "-n", "a", "link", "set", "dev", "va", "down");
    assert.equal(await address.read(v6.id, v6.outs), {});
    assert.equal(await address.read(v4.id, v4.outs), { id: v4.id, props: v4.outs });
    await address.delete(v6.id, v6.outs);
    await address.delete(v4.id, v4.outs);
    assert.equal(addrsOf("a", "va"), []);
  }));

test("D5: deleting the primary address takes the secondaries, which read reports gone", () =>
  withLab(async () => {
    const primary = await created(address, await input({ address: "10.0.0.1/24" }));
    const secondary = await created(address, await input({ address: "10.0.0.2/24", owner: owner("second") }));
    sh("ip", "-n", "a", "addr", "del", "10.0.0.1/24", "dev", "va");
    assert.equal(await address.read(primary.id, primary.outs), {});
    assert.equal(await address.read(secondary.id, secondary.outs), {});
    await address.delete(secondary.id, secondary.outs);
    await address.delete(primary.id, primary.outs);
  }));

test("D6: a link moved to another namespace loses its addresses, which read reports gone", () =>
  withLab(async () => {
    sh("ip", "netns", "add", "c");
    const v4 = await created(address, await input({ address: "10.0.0.1/24" }));
    const v6 = await created(address, await input({ address: "2001:db8::1/64" }));
    sh("ip", "-n", "a", "link", "set", "dev", "va", "netns", "c");
    assert.equal(await address.read(v4.id, v4.outs), {});
    assert.equal(await address.read(v6.id, v6.outs), {});
    await address.delete(v4.id, v4.outs);
    await address.delete(v6.id, v6.outs);
    assert.equal(addrsOf("c", "va"), []);
  }, "c"));

test("rejects bad input in check without running any command, naming resource, property, value and what is allowed", async () => {
  setCommandHook((argv) => {
    throw new Error(`check ran a command: ${argv.join(" ")}`);
  });
  try {
    const cases: [Record<string, unknown>, RegExp][] = [
      // B9: non-canonical, with the canonical form in the message
      [{ address: "10.1/24" }, /^address: "10\.1\/24" is not valid: it is not in canonical form; write "10\.1\.0\.0\/24"/],
      [{ address: "10/8" }, /write "10\.0\.0\.0\/8"/],
      [{ address: "010.0.0.1/24" }, /write "10\.0\.0\.1\/24" \(ip would read the leading zeros as octal: 8\.0\.0\.1\)/],
      [{ address: "0x0a000002/24" }, /write "10\.0\.0\.2\/24"/],
      [{ address: " 10.0.0.5/24" }, /write "10\.0\.0\.5\/24"/],
      [{ address: "10.0.0.6" }, /give the prefix length explicitly, e\.g\. "10\.0\.0\.6\/24" \(or "\/32" for a single address\)/],
      [{ address: "2001:DB8::1/64" }, /write "2001:db8::1\/64"/],
      [{ address: "2001:db8:0:0::1/64" }, /write "2001:db8::1\/64"/],
      // B10
      [{ address: "10.0.0.1/33" }, /the prefix length must be an integer from 0 to 32 for IPv4/],
      [{ address: "10.0.0.1/-1" }, /the prefix length must be an integer from 0 to 32/],
      [{ address: "300.0.0.1/24" }, /it is not an IPv4 or IPv6 address/],
      [{ address: "fe80::1/129" }, /from 0 to 128 for IPv6/],
      [{ address: "2001:db8:::1/64" }, /it is not an IPv4 or IPv6 address/],
      [{ address: "2001:db8::g/64" }, /it is not an IPv4 or IPv6 address/],
      // B11
      [{ address: "0.0.0.0/0" }, /the unspecified address is not an interface address/],
      [{ address: "0.0.0.0/8" }, /the unspecified address/],
      [{ address: "255.255.255.255/32" }, /the limited broadcast address is not an interface address/],
      [{ address: "224.0.0.5/24" }, /multicast address \(224\.0\.0\.0\/4\)/],
      [{ address: "ff02::1/64" }, /multicast address \(ff00::\/8\)/],
      [{ address: "::/64" }, /the unspecified address/],
      [{ address: "10.0.0.0/24" }, /it is the network address of 10\.0\.0\.0\/24; use a host address of the prefix \(or \/31, \/32 for point-to-point\)/],
      [{ address: "10.0.0.255/24" }, /it is the broadcast address of 10\.0\.0\.0\/24/],
      [{ address: "10.0.0.3/30" }, /broadcast address of 10\.0\.0\.0\/30/],
      // device names (B1-B6)
      [{ device: "abcdefghijklmnop" }, /^device: "abcdefghijklmnop" is not valid: it is 16 bytes long/],
      [{ device: "a/b" }, /device: "a\/b" is not valid: use 1-15 characters/],
      [{ device: "a:b" }, /device: "a:b" is not valid/],
      [{ device: "all" }, /clashes with \/proc\/sys\/net/],
      [{ netns: "a b" }, /^netns: "a b" is not valid/],
      [{ device: undefined }, /^device: \(unset\) is not valid: it is required/],
      [{ address: undefined }, /^address: \(unset\) is not valid: it is required/],
      [{ deviceIdentity: "" }, /^deviceIdentity: "" is not valid: use a non-empty string: the incarnation of the resource passed as device/],
      [{ deviceIdentity: 5 }, /deviceIdentity: 5 is not valid: use a non-empty string/],
    ];
    for (const [change, re] of cases) {
      const f = await failures(address, { device: "va", address: "10.0.0.1/24", owner: owner("lab"), ...change });
      assert.is(f.length, 1, `${JSON.stringify(change)}: ${f.join("; ")}`);
      assert.match(f[0]!, re);
    }
    assert.equal(await failures(address, { device: UNKNOWN, address: UNKNOWN, netns: UNKNOWN, owner: owner("lab") }), [], "unknown values are not validated");
    assert.equal(await failures(address, { device: "va", address: "10.0.0.0/31", owner: owner("lab") }), []);
  } finally {
    setCommandHook(undefined);
  }
});

test("fails at create on a missing device or namespace, saying what to pass or depend on", () =>
  withLab(async () => {
    await rejects(
      address.create(await input({ device: "nosuch", address: "10.0.0.1/24" })),
      /^Address "addr": create: device "nosuch" does not exist in namespace "a"\. Pass the VethPair or Bridge resource itself as device/,
      /dependsOn/,
      /\$ ip -n a addr add 10\.0\.0\.1\/24 dev nosuch label nosuch:[0-9a-f]+\n  Cannot find device "nosuch"/,
    );
    await rejects(address.create(await input({ netns: "nosuch", address: "10.0.0.1/24" })), /namespace "nosuch" does not exist\. Pass the Netns resource itself/);
  }));

test("addresses made by Address carry traffic: ping across a veth between two namespaces", () =>
  withLab(async () => {
    const a = await created(address, await input({ address: "10.0.0.1/24" }));
    const b = await created(address, await input({ address: "10.0.0.2/24", device: "vb", netns: "b", owner: owner("b") }));
    const a6 = await created(address, await input({ address: "2001:db8::1/64" }));
    const b6 = await created(address, await input({ address: "2001:db8::2/64", device: "vb", netns: "b", owner: owner("b6") }));
    sh("ip", "netns", "exec", "a", "ping", "-c", "1", "-W", "2", "10.0.0.2");
    sh("ip", "netns", "exec", "b", "ping", "-c", "1", "-W", "2", "2001:db8::1");
    for (const r of [a, b, a6, b6]) await address.delete(r.id, r.outs);
    assert.not.ok(ok("ip", "netns", "exec", "a", "ping", "-c", "1", "-W", "1", "10.0.0.2"));
  }));

test.run();
