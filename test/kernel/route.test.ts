import * as fs from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { setCommandHook } from "../../provider/driver/exec";
import { address } from "../../provider/resources/address";
import { route, type RouteInputs, type RouteOutputs } from "../../provider/resources/route";
import { checked, created, failures, ok, owner, rejects, sh, UNKNOWN } from "../helpers/kernel";

// Every test makes namespaces "a" and "b" joined by two veth pairs, va - vb (10.0.0.1/24 and
// 2001:db8::1/64 - 10.0.0.2/24 and 2001:db8::2/64) and vx - vy (10.0.1.1/24 - 10.0.1.2/24), all up,
// and deletes them at the end.

function lab(): void {
  sh("ip", "netns", "add", "a");
  sh("ip", "netns", "add", "b");
  for (const [x, y, n] of [["va", "vb", "0"], ["vx", "vy", "1"]] as const) {
    sh("ip", "-n", "a", "link", "add", "name", x, "type", "veth", "peer", "name", y, "netns", "b");
    sh("ip", "-n", "a", "link", "set", "dev", x, "up");
    sh("ip", "-n", "b", "link", "set", "dev", y, "up");
    sh("ip", "-n", "a", "addr", "add", `10.0.${n}.1/24`, "dev", x);
    sh("ip", "-n", "b", "addr", "add", `10.0.${n}.2/24`, "dev", y);
  }
  sh("ip", "-n", "a", "addr", "add", "2001:db8::1/64", "dev", "va", "nodad");
  sh("ip", "-n", "b", "addr", "add", "2001:db8::2/64", "dev", "vb", "nodad");
}

async function withLab(fn: () => Promise<void>, ...extra: string[]): Promise<void> {
  lab();
  try {
    await fn();
  } finally {
    setCommandHook(undefined);
    for (const ns of ["a", "b", ...extra]) if (fs.existsSync(`/run/netns/${ns}`)) sh("ip", "netns", "del", ns);
  }
}

/** The routes of namespace `ns` to `dest` in `family` and `table`, as `ip route show` lines. */
function routesTo(ns: string, dest: string, family: "-4" | "-6" = "-4", table = "main"): string[] {
  return sh("ip", "-n", ns, family, "route", "show", "exact", dest, "table", table).trim().split("\n").filter(Boolean).map((l) => l.trim());
}

/** Records the argv of every command run while fn runs. */
async function commands(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  setCommandHook((argv) => void seen.push(argv.join(" ")));
  try {
    await fn();
  } finally {
    setCommandHook(undefined);
  }
  return seen;
}

const input = (o: Partial<RouteInputs>) => checked(route, { netns: "a", owner: owner("rt"), ...o });

const test = suite("Route");

test("creates a route via a gateway, reads it back, updates via and device in place with `ip route replace`, deletes it, and deletes again", () =>
  withLab(async () => {
    const inputs = await input({ destination: "10.8.0.0/16", via: "10.0.0.2" });
    assert.is(inputs.table, "main");
    const { id, outs } = await created(route, inputs);
    assert.is(id, "route:a/main/10.8.0.0/16/default");
    assert.equal(outs, inputs);
    assert.equal(routesTo("a", "10.8.0.0/16"), ["10.8.0.0/16 via 10.0.0.2 dev va proto 199"]);
    assert.equal(await route.read(id, outs), { id, props: outs }, "read reports no device the program left to the kernel");

    const news = { ...inputs, via: "10.0.1.2", device: "vx" };
    const d = await route.diff(id, outs, news);
    assert.equal([d.changes, d.replaces], [true, []]);
    let updated: RouteOutputs | undefined;
    const ran = await commands(async () => (updated = (await route.update(id, outs, news)).outs));
    assert.equal(ran, ["ip -n a -4 route replace 10.8.0.0/16 table 254 metric 0 proto 199 via 10.0.1.2 dev vx"]);
    assert.equal(updated, news);
    assert.equal(routesTo("a", "10.8.0.0/16"), ["10.8.0.0/16 via 10.0.1.2 dev vx proto 199"]);
    assert.equal(await route.read(id, updated!), { id, props: news });

    // Dropping the gateway makes a route straight through the device.
    const direct = { ...news, via: undefined };
    assert.equal((await route.diff(id, updated!, direct)).changes, true);
    await route.update(id, updated!, direct);
    assert.equal(routesTo("a", "10.8.0.0/16"), ["10.8.0.0/16 dev vx proto 199 scope link"]);

    await route.delete(id, direct);
    assert.equal(routesTo("a", "10.8.0.0/16"), []);
    assert.equal(await route.read(id, direct), {});
    await route.delete(id, direct);
  }));

test("IPv6: a route via an IPv6 gateway, a default route via one, and \"::/0\" through a device", () =>
  withLab(async () => {
    const r = await created(route, await input({ destination: "2001:db8:8::/64", via: "2001:db8::2" }));
    assert.is(r.id, "route:a/main/2001:db8:8::/64/default");
    assert.equal(routesTo("a", "2001:db8:8::/64", "-6"), ["2001:db8:8::/64 via 2001:db8::2 dev va proto 199 metric 1024 pref medium"]);
    assert.equal(await route.read(r.id, r.outs), { id: r.id, props: r.outs });

    const def = await created(route, await input({ destination: "default", via: "2001:db8::2", owner: owner("def6") }));
    assert.is(def.id, "route:a/main/::/0/default", "a default route via an IPv6 gateway is IPv6");
    assert.equal(routesTo("a", "::/0", "-6"), ["default via 2001:db8::2 dev va proto 199 metric 1024 pref medium"]);
    assert.equal(routesTo("a", "0.0.0.0/0"), []);
    await route.delete(def.id, def.outs);

    const byDev = await created(route, await input({ destination: "::/0", device: "vx", owner: owner("dev6") }));
    assert.equal(routesTo("a", "::/0", "-6"), ["default dev vx proto 199 metric 1024 pref medium"]);
    for (const x of [byDev, r]) await route.delete(x.id, x.outs);
    assert.equal([...routesTo("a", "::/0", "-6"), ...routesTo("a", "2001:db8:8::/64", "-6")], []);
  }));

test("table and metric are part of the identity: routes differing only in metric coexist, and delete removes only its own", () =>
  withLab(async () => {
    const main = await created(route, await input({ destination: "10.8.0.0/16", via: "10.0.0.2" }));
    const m7 = await created(route, await input({ destination: "10.8.0.0/16", via: "10.0.1.2", metric: 7, owner: owner("m7") }));
    const t100 = await created(route, await input({ destination: "10.8.0.0/16", device: "va", table: 100, metric: 5, owner: owner("t100") }));
    assert.is(m7.id, "route:a/main/10.8.0.0/16/7");
    assert.is(t100.id, "route:a/100/10.8.0.0/16/5");
    assert.equal(routesTo("a", "10.8.0.0/16"), ["10.8.0.0/16 via 10.0.0.2 dev va proto 199", "10.8.0.0/16 via 10.0.1.2 dev vx proto 199 metric 7"]);
    assert.equal(routesTo("a", "10.8.0.0/16", "-4", "100"), ["10.8.0.0/16 dev va proto 199 scope link metric 5"]);
    assert.equal(await route.read(t100.id, t100.outs), { id: t100.id, props: t100.outs });

    // The kernel's IPv4 delete reads metric 0 as "any metric": deleting the metric-0 route twice
    // must not take the metric-7 one.
    await route.delete(main.id, main.outs);
    await route.delete(main.id, main.outs);
    assert.equal(routesTo("a", "10.8.0.0/16"), ["10.8.0.0/16 via 10.0.1.2 dev vx proto 199 metric 7"]);
    await route.delete(m7.id, m7.outs);
    await route.delete(t100.id, t100.outs);
    await route.delete(t100.id, t100.outs);
    assert.equal([...routesTo("a", "10.8.0.0/16"), ...routesTo("a", "10.8.0.0/16", "-4", "100")], []);
  }));

test("namespace, destination, table and metric replace (delete first); via and device update in place", async () => {
  const olds: RouteOutputs = { destination: "10.8.0.0/16", via: "10.0.0.2", device: "va", netns: "a", table: "main", deviceIdentity: "3a3a3a3a3a3a3a3a", netnsIdentity: "9a9a9a9a9a9a9a9a", owner: owner("rt") };
  const replaces: [Partial<RouteInputs>, string[]][] = [
    [{ destination: "10.9.0.0/16" }, ["destination"]],
    [{ destination: UNKNOWN }, ["destination"]],
    [{ table: 100 }, ["table"]],
    [{ metric: 5 }, ["metric"]],
    [{ netns: "b" }, ["netns"]],
    [{ netnsIdentity: "9b9b9b9b9b9b9b9b" }, ["netnsIdentity"]],
    [{ destination: "default", via: "2001:db8::2" }, ["destination", "via"]],
  ];
  for (const [change, keys] of replaces) {
    const d = await route.diff("r", olds, { ...olds, ...change });
    assert.equal([d.changes, d.replaces, d.deleteBeforeReplace], [true, keys, true], JSON.stringify(change));
  }
  const def = { ...olds, destination: "default" };
  assert.equal((await route.diff("r", def, { ...def, via: "2001:db8::2" })).replaces, ["via"], "a default route changing family is another route");
  assert.equal((await route.diff("r", def, { ...def, via: UNKNOWN })).replaces, ["via"], "an unknown gateway of a default route may change its family");
  const updates: Partial<RouteInputs>[] = [{ via: "10.0.0.3" }, { via: undefined }, { device: "vx" }, { deviceIdentity: "3b3b3b3b3b3b3b3b" }, { via: UNKNOWN }];
  for (const change of updates) {
    const d = await route.diff("r", olds, { ...olds, ...change });
    assert.equal([d.changes, d.replaces], [true, []], JSON.stringify(change));
  }
  assert.equal((await route.diff("r", olds, { ...olds, device: undefined })).changes, false, "an unset device is not managed");
  assert.equal((await route.diff("r", olds, { ...olds })).changes, false);
});

test("create retried after a crash converges: after `ip route add` ran, and between finding our route and `ip route replace`", () =>
  withLab(async () => {
    const inputs = await input({ destination: "10.8.0.0/16", via: "10.0.0.2" });
    setCommandHook((argv) => {
      if (argv.includes("add")) throw new Error("injected crash");
    });
    await rejects(route.create(inputs), /Route "rt": create: injected crash/);
    setCommandHook(undefined);
    assert.equal(routesTo("a", "10.8.0.0/16"), []);

    // The route is added, then the engine dies before recording the result.
    await route.create(inputs);
    // The retry finds its own route and crashes before taking it.
    setCommandHook((argv) => {
      if (argv.includes("replace")) throw new Error("injected crash");
    });
    await rejects(route.create(inputs), /injected crash/);
    setCommandHook(undefined);
    const { id, outs } = await created(route, { ...inputs, via: "10.0.1.2" });
    assert.equal(routesTo("a", "10.8.0.0/16"), ["10.8.0.0/16 via 10.0.1.2 dev vx proto 199"], "our own route is taken with the asked next hop");
    await route.delete(id, outs);
    assert.equal(routesTo("a", "10.8.0.0/16"), []);
  }));

test("refuses a foreign route of the same identity, never deletes it, and adopt takes it over", () =>
  withLab(async () => {
    sh("ip", "-n", "a", "route", "add", "10.8.0.0/16", "via", "10.0.0.2");
    const inputs = await input({ destination: "10.8.0.0/16", via: "10.0.1.2" });
    await rejects(
      route.create(inputs),
      /^Route "rt": create: a route to 10\.8\.0\.0\/16 \(table main, metric 0\) already exists in namespace "a" \(via 10\.0\.0\.2 dev va proto boot\) and was not made by nslab/,
      /Remove it with: ip -n a -4 route del 10\.8\.0\.0\/16 table 254 metric 0, or set adopt: true to take it over/,
    );
    const ours = { ...inputs, device: "va" };
    await route.delete("route:a/main/10.8.0.0/16/default", ours);
    assert.equal(routesTo("a", "10.8.0.0/16"), ["10.8.0.0/16 via 10.0.0.2 dev va"], "a foreign route survives delete");
    assert.equal(await route.read("route:a/main/10.8.0.0/16/default", ours), {}, "a foreign route is not ours");

    // The same for IPv6 and for an explicit metric (deleted in one command, without a lookup).
    sh("ip", "-n", "a", "-6", "route", "add", "2001:db8:8::/64", "via", "2001:db8::2");
    sh("ip", "-n", "a", "-4", "route", "add", "10.9.0.0/16", "via", "10.0.0.2", "metric", "7");
    const six = await input({ destination: "2001:db8:8::/64", via: "2001:db8::2", owner: owner("six") });
    const seven = await input({ destination: "10.9.0.0/16", via: "10.0.0.2", metric: 7, owner: owner("seven") });
    await rejects(route.create(six), /\(table main, metric 1024\) already exists in namespace "a" \(via 2001:db8::2 dev va proto boot\)/, /Remove it with: ip -n a -6 route del 2001:db8:8::\/64 table 254 metric 1024,/);
    await rejects(route.create(seven), /\(table main, metric 7\) already exists/);
    await route.delete("route:a/main/2001:db8:8::/64/default", six);
    await route.delete("route:a/main/10.9.0.0/16/7", seven);
    assert.equal(routesTo("a", "2001:db8:8::/64", "-6"), ["2001:db8:8::/64 via 2001:db8::2 dev va metric 1024 pref medium"]);
    assert.equal(routesTo("a", "10.9.0.0/16"), ["10.9.0.0/16 via 10.0.0.2 dev va metric 7"]);

    // A foreign route of another metric is no conflict.
    const m3 = await created(route, await input({ destination: "10.8.0.0/16", via: "10.0.0.2", metric: 3, owner: owner("m3") }));
    await route.delete(m3.id, m3.outs);

    const { id, outs } = await created(route, { ...inputs, adopt: true });
    assert.equal(routesTo("a", "10.8.0.0/16"), ["10.8.0.0/16 via 10.0.1.2 dev vx proto 199"], "adopted: marked ours, with our next hop");
    await route.delete(id, outs);
    assert.equal(routesTo("a", "10.8.0.0/16"), []);
  }));

test("D4: a link set down loses its static routes, which read reports gone", () =>
  withLab(async () => {
    const v4 = await created(route, await input({ destination: "10.8.0.0/16", via: "10.0.0.2" }));
    const v6 = await created(route, await input({ destination: "2001:db8:8::/64", device: "va", owner: owner("v6") }));
    sh("ip", "-n", "a", "link", "set", "dev", "va", "down");
    assert.equal(await route.read(v4.id, v4.outs), {});
    assert.equal(await route.read(v6.id, v6.outs), {});
    await route.delete(v4.id, v4.outs);
    await route.delete(v6.id, v6.outs);
  }));

test("D6: a link moved to another namespace takes its routes, which read reports gone", () =>
  withLab(async () => {
    sh("ip", "netns", "add", "c");
    const r = await created(route, await input({ destination: "10.8.0.0/16", via: "10.0.0.2" }));
    sh("ip", "-n", "a", "link", "set", "dev", "va", "netns", "c");
    assert.equal(await route.read(r.id, r.outs), {});
    await route.delete(r.id, r.outs);
  }, "c"));

test("read reports a gateway or device changed by hand as the kernel has it", () =>
  withLab(async () => {
    const { id, outs } = await created(route, await input({ destination: "10.8.0.0/16", via: "10.0.0.2", device: "va" }));
    sh("ip", "-n", "a", "route", "replace", "10.8.0.0/16", "via", "10.0.1.2", "dev", "vx", "proto", "199");
    const read = (await route.read(id, outs)).props!;
    assert.equal([read.via, read.device], ["10.0.1.2", "vx"]);
    const d = await route.diff(id, read, outs);
    assert.equal([d.changes, d.replaces], [true, []], "up puts it back in place");
    await route.update(id, read, outs);
    assert.equal(routesTo("a", "10.8.0.0/16"), ["10.8.0.0/16 via 10.0.0.2 dev va proto 199"]);
    await route.delete(id, outs);
  }));

test("rejects bad input in check without running any command, naming resource, property, value and what is allowed", async () => {
  setCommandHook((argv) => {
    throw new Error(`check ran a command: ${argv.join(" ")}`);
  });
  try {
    const cases: [Record<string, unknown>, RegExp][] = [
      // B12: host bits, with the network in the message
      [{ destination: "10.8.0.1/16" }, /^destination: "10\.8\.0\.1\/16" is not valid: it has host bits set beyond the \/16 prefix; a destination is a network: write "10\.8\.0\.0\/16"/],
      [{ destination: "2001:db8::1/64", via: "2001:db8::2" }, /write "2001:db8::\/64"/],
      // B9, B10
      [{ destination: "10.8/16" }, /destination: "10\.8\/16" is not valid: use "default" or a CIDR; it is not in canonical form; write "10\.8\.0\.0\/16"/],
      [{ destination: "10.8.0.0" }, /give the prefix length explicitly/],
      [{ destination: "10.8.0.0/33" }, /the prefix length must be an integer from 0 to 32/],
      [{ destination: "2001:DB8::/64", via: "2001:db8::2" }, /write "2001:db8::\/64"/],
      [{ destination: "0.0.0.0/0" }, /write "default"/],
      [{ destination: "Default" }, /use "default" or a CIDR/],
      [{ via: "010.0.0.2" }, /^via: "010\.0\.0\.2" is not valid: it is not in canonical form; write "10\.0\.0\.2"/],
      [{ via: "10.0.0.2/24" }, /give an address without a prefix length/],
      [{ via: "2001:db8::2" }, /it is an IPv6 address but destination 10\.8\.0\.0\/16 is IPv4; use an IPv4 gateway/],
      [{ via: "224.0.0.1" }, /a gateway must be a unicast address/],
      [{ destination: "2001:db8:8::/64", via: "fe80::1" }, /a link-local gateway is only reachable through an interface: set device too/],
      [{ via: undefined }, /^via: \(unset\) is not valid: give via \(the gateway's address\), device \(the interface\), or both/],
      [{ destination: undefined }, /^destination: \(unset\) is not valid: it is required/],
      // B21 and metric
      [{ table: 4294967296 }, /^table: 4294967296 is not valid: use "main" or a table number from 1 to 252 or 256 to 4294967295/],
      [{ table: 0 }, /table: 0 is not valid: use "main" or a table number/],
      [{ table: 1.5 }, /use "main" or a table number/],
      [{ table: "local" }, /table names other than "main" are refused because \/etc\/iproute2\/rt_tables differs between hosts/],
      [{ table: 254 }, /254 is the main table: write "main"/],
      [{ table: 255 }, /table 255 \("local"\) is reserved for the kernel's local and broadcast routes/],
      [{ metric: -1 }, /^metric: -1 is not valid: use an integer from 0 to 4294967295/],
      [{ metric: 4294967296 }, /use an integer from 0 to 4294967295/],
      [{ device: "a b" }, /^device: "a b" is not valid: use 1-15 characters/],
      [{ netns: "-x" }, /^netns: "-x" is not valid/],
      [{ device: "va", deviceIdentity: "" }, /^deviceIdentity: "" is not valid: use a non-empty string: the incarnation of the resource passed as device/],
    ];
    for (const [change, re] of cases) {
      const f = await failures(route, { destination: "10.8.0.0/16", via: "10.0.0.2", owner: owner("lab"), ...change });
      assert.is(f.length, 1, `${JSON.stringify(change)}: ${f.join("; ")}`);
      assert.match(f[0]!, re);
    }
    const base = { owner: owner("lab") };
    assert.equal(await failures(route, { ...base, destination: UNKNOWN, via: UNKNOWN, device: UNKNOWN, table: UNKNOWN, metric: UNKNOWN }), [], "unknown values are not validated");
    assert.equal(await failures(route, { ...base, destination: "default", device: UNKNOWN }), []);
    for (const ok of [{ destination: "default", via: "10.0.0.2" }, { destination: "::/0", device: "va" }, { destination: "10.0.0.0/31", device: "va", table: 100, metric: 4294967295 }, { destination: "10.0.0.5/32", via: "10.0.0.2", table: 4294967295 }]) {
      assert.equal(await failures(route, { ...base, ...ok }), [], JSON.stringify(ok));
    }
  } finally {
    setCommandHook(undefined);
  }
});

test("fails at create on a gateway no address covers (B13), saying what is missing and suggesting dependsOn", () =>
  withLab(async () => {
    await rejects(
      route.create(await input({ destination: "10.8.0.0/16", via: "10.9.0.5" })),
      /^Route "rt": create: gateway 10\.9\.0\.5 is not reachable directly: no address in namespace "a" covers 10\.9\.0\.5 \(or its link is down\)\. Add an Address in namespace "a" whose prefix covers 10\.9\.0\.5, and add it to this Route's dependsOn: \[<that Address>\]/,
      /\$ ip -n a -4 route add 10\.8\.0\.0\/16 table 254 metric 0 proto 199 via 10\.9\.0\.5\n  Error: Nexthop has invalid gateway\./,
    );
    await rejects(route.create(await input({ destination: "2001:db8:8::/64", via: "2001:db8:9::5" })), /no address in namespace "a" covers 2001:db8:9::5/, /dependsOn/, /No route to host/);
    sh("ip", "-n", "a", "link", "set", "dev", "vx", "down");
    await rejects(route.create(await input({ destination: "10.8.0.0/16", via: "10.0.1.2", device: "vx" })), /gateway 10\.0\.1\.2 is not reachable directly: the address covering it is on "vx", which is down/);
    await rejects(route.create(await input({ destination: "10.8.0.0/16", device: "vx" })), /device "vx" is down in namespace "a"/, /Error: Device for nexthop is not up\./);
    await rejects(route.create(await input({ destination: "10.8.0.0/16", device: "nosuch" })), /device "nosuch" does not exist in namespace "a"\. If "nosuch" is made by an nslab resource, pass that resource/);
    assert.equal(routesTo("a", "10.8.0.0/16"), []);
  }));

test("routes carry traffic: a default route through a router namespace reaches a third namespace", async () => {
  // h1 (10.1.0.2) - r (10.1.0.1 | 10.2.0.1, forwarding) - h2 (10.2.0.2); addresses and routes by the providers.
  for (const ns of ["h1", "r", "h2"]) sh("ip", "netns", "add", ns);
  try {
    sh("ip", "-n", "h1", "link", "add", "name", "e0", "type", "veth", "peer", "name", "r1", "netns", "r");
    sh("ip", "-n", "h2", "link", "add", "name", "e0", "type", "veth", "peer", "name", "r2", "netns", "r");
    for (const [ns, dev] of [["h1", "e0"], ["h2", "e0"], ["r", "r1"], ["r", "r2"]]) sh("ip", "-n", ns!, "link", "set", "dev", dev!, "up");
    sh("ip", "netns", "exec", "r", "sysctl", "-qw", "net.ipv4.ip_forward=1");
    const made: [typeof address | typeof route, { id: string; outs: any }][] = [];
    for (const [ns, dev, cidr] of [["h1", "e0", "10.1.0.2/24"], ["r", "r1", "10.1.0.1/24"], ["r", "r2", "10.2.0.1/24"], ["h2", "e0", "10.2.0.2/24"]]) {
      made.push([address, await created(address, await checked(address, { netns: ns, device: dev, address: cidr, owner: owner(`${ns}-${dev}`) }))]);
    }
    assert.not.ok(ok("ip", "netns", "exec", "h1", "ping", "-c", "1", "-W", "1", "10.2.0.2"), "no route yet");
    for (const [ns, gw] of [["h1", "10.1.0.1"], ["h2", "10.2.0.1"]]) {
      made.push([route, await created(route, await checked(route, { netns: ns, destination: "default", via: gw, owner: owner(`${ns}-default`) }))]);
    }
    sh("ip", "netns", "exec", "h1", "ping", "-c", "1", "-W", "2", "10.2.0.2");
    for (const [p, r] of made.reverse()) await p.delete(r.id, r.outs);
    assert.not.ok(ok("ip", "netns", "exec", "h1", "ping", "-c", "1", "-W", "1", "10.2.0.2"));
  } finally {
    for (const ns of ["h1", "r", "h2"]) sh("ip", "netns", "del", ns);
  }
});

test.run();
