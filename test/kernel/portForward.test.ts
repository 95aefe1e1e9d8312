import { suite } from "uvu";
import * as assert from "uvu/assert";
import { setCommandHook } from "../../provider/driver/exec";
import { removeRules } from "../../provider/driver/iptables";
import { ownerHash } from "../../provider/lib/owner";
import { portForward, type PortForwardOutputs } from "../../provider/resources/portForward";
import { checked, created, failures, owner, rejects, sh, UNKNOWN } from "../helpers/kernel";
import { askUdp, buildLab, chain, connect, destroyLab, HOST_IN, HOST_UP, LAB, LAN, medianMs, serve, serveUdp, type Server } from "../helpers/netfilterLab";

const test = suite("PortForward");

const ESTABLISHED = `-A NSLAB-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:established" -j ACCEPT`;

test("create, read, delete, delete again: DNAT in PREROUTING and OUTPUT, accept in FORWARD", async () => {
  const inputs = await checked(portForward, { hostPort: 8080, toAddress: "10.10.0.2", owner: owner("web") });
  assert.equal([inputs.protocol, inputs.toPort], ["tcp", 8080], "defaults: tcp, toPort = hostPort");
  const hash = ownerHash(inputs.owner);
  const { id, outs } = await created(portForward, inputs);
  assert.is(id, `portforward:-/${hash}`);
  const c = `nslab:${hash}:pf`;
  assert.is(outs.comment, c);
  assert.equal(chain("nat", "NSLAB-PREROUTING"), [
    "-N NSLAB-PREROUTING",
    `-A NSLAB-PREROUTING -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8080 -m comment --comment "${c}" -j DNAT --to-destination 10.10.0.2:8080`,
  ]);
  assert.equal(chain("nat", "NSLAB-OUTPUT"), [
    "-N NSLAB-OUTPUT",
    `-A NSLAB-OUTPUT ! -d 127.0.0.0/8 -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8080 -m comment --comment "${c}" -j DNAT --to-destination 10.10.0.2:8080`,
  ]);
  assert.equal(chain("filter", "NSLAB-FORWARD"), [
    "-N NSLAB-FORWARD",
    ESTABLISHED,
    `-A NSLAB-FORWARD -d 10.10.0.2/32 -p tcp -m tcp --dport 8080 -m conntrack --ctstate DNAT -m comment --comment "${c}" -j ACCEPT`,
  ]);
  for (const [table, builtin] of [["nat", "PREROUTING"], ["nat", "OUTPUT"], ["filter", "FORWARD"]] as const) {
    assert.equal(chain(table, builtin)!.slice(1), [`-A ${builtin} -m comment --comment "nslab:jump" -j NSLAB-${builtin}`]);
  }
  assert.equal(await portForward.read(id, outs), { id, props: outs });
  assert.equal((await portForward.update(id, outs, { ...inputs, adopt: true })).outs, { ...inputs, adopt: true, comment: c }, "update rewrites the same rules");
  assert.equal(chain("nat", "NSLAB-PREROUTING")!.length, 2);

  await portForward.delete(id, outs);
  for (const [table, name] of [["nat", "NSLAB-PREROUTING"], ["nat", "NSLAB-OUTPUT"], ["filter", "NSLAB-FORWARD"]] as const) assert.is(chain(table, name), undefined, name);
  for (const [table, builtin] of [["nat", "PREROUTING"], ["nat", "OUTPUT"], ["filter", "FORWARD"]] as const) assert.equal(chain(table, builtin)!.length, 1, `${builtin}: no jump left`);
  assert.equal(await portForward.read(id, outs), {});
  await portForward.delete(id, outs);
});

test("every input is identity: a new target, port or match replaces, delete first", async () => {
  const olds = { hostPort: 80, toAddress: "10.0.0.2", toPort: 80, protocol: "tcp", owner: owner("w"), comment: "c" } as PortForwardOutputs;
  const changes = [["toAddress", "10.0.0.3"], ["toPort", 8080], ["hostPort", 81], ["protocol", "udp"], ["hostAddress", "192.0.2.1"], ["inInterface", "eth0"], ["netns", "red"], ["toAddress", UNKNOWN]] as const;
  for (const [key, value] of changes) {
    const d = await portForward.diff("portforward:-/x", olds, { ...olds, [key]: value });
    assert.equal([d.changes, d.replaces, d.deleteBeforeReplace], [true, [key], true], `${key}=${value}`);
  }
  assert.is((await portForward.diff("portforward:-/x", olds, { ...olds })).changes, false);
});

test("forwards TCP from the LAN and from the host itself through a FORWARD policy DROP; other traffic to the port is untouched", async () => {
  buildLab();
  sh("iptables", "-P", "FORWARD", "DROP");
  const servers: Server[] = [await serve("lab", LAB, 80, "lab"), await serve("lan", LAN, 8080, "lan")];
  try {
    assert.is(connect("lan", HOST_UP, 8080, 1), undefined, "nothing listens on the host");
    const { id, outs } = await created(portForward, await checked(portForward, { hostPort: 8080, toAddress: LAB, toPort: 80, owner: owner("web") }));
    assert.is(connect("lan", HOST_UP, 8080), `lab ${LAN}`, "from the LAN: the lab answers and sees the LAN's address");
    assert.is(connect(undefined, HOST_UP, 8080), `lab ${HOST_UP}`, "from the host itself to its own address");
    assert.is(connect(undefined, HOST_IN, 8080), `lab ${HOST_IN}`, "to any local address");
    assert.is(connect(undefined, LAN, 8080), `lan ${HOST_UP}`, "the host's traffic to another machine's port 8080 is not forwarded");
    assert.is(connect(undefined, "127.0.0.1", 8080, 1), undefined, "loopback is not forwarded");
    await portForward.delete(id, outs);
    assert.is(connect("lan", HOST_UP, 8080, 1), undefined, "after delete: nothing forwarded, FORWARD drops");

    const only = await created(portForward, await checked(portForward, { hostPort: 8081, toAddress: LAB, toPort: 80, inInterface: "up0", owner: owner("in-if") }));
    assert.is(connect("lan", HOST_UP, 8081), `lab ${LAN}`, "arriving on up0: forwarded");
    assert.is(connect(undefined, HOST_UP, 8081, 1), undefined, "with inInterface the host's own traffic is not forwarded");
    await portForward.delete(only.id, only.outs);

    const addr = await created(portForward, await checked(portForward, { hostPort: 8082, toAddress: LAB, toPort: 80, hostAddress: HOST_UP, owner: owner("addr") }));
    assert.is(connect("lan", HOST_UP, 8082), `lab ${LAN}`);
    assert.is(connect(undefined, HOST_UP, 8082), `lab ${HOST_UP}`);
    assert.is(connect(undefined, HOST_IN, 8082, 1), undefined, "another local address is not forwarded");
    await portForward.delete(addr.id, addr.outs);
  } finally {
    for (const s of servers) await s.stop();
    destroyLab();
  }
});

test("replacing a UDP forward's target moves an established flow at once: delete drops its conntrack entries (D10)", async () => {
  buildLab();
  sh("iptables", "-P", "FORWARD", "DROP");
  const servers = [await serveUdp("lab", LAB, 5353, "old"), await serveUdp("lab", LAB, 5354, "new")];
  try {
    const inputs = await checked(portForward, { hostPort: 53, toAddress: LAB, toPort: 5353, protocol: "udp", owner: owner("dns") });
    const first = await created(portForward, inputs);
    assert.is(askUdp("lan", HOST_UP, 53), "old");
    assert.is(askUdp("lan", HOST_UP, 53), "old", "the same flow again");
    // Only the rules removed (as a plain rule replace would): the flow keeps its old target.
    await removeRules(undefined, ownerHash(inputs.owner), [{ table: "nat", builtin: "PREROUTING" }, { table: "nat", builtin: "OUTPUT" }, { table: "filter", builtin: "FORWARD" }]);
    const second = await created(portForward, { ...inputs, toPort: 5354, owner: owner("dns-2") });
    assert.is(askUdp("lan", HOST_UP, 53), "old", "without dropping conntrack entries the established flow still goes to the old target");
    // The delete of the old forward drops the entries of flows DNATed to its target.
    await portForward.delete(first.id, first.outs);
    assert.is(askUdp("lan", HOST_UP, 53), "new", "the same flow now goes to the new target");
    await portForward.delete(second.id, second.outs);
    sh("conntrack", "-F");
  } finally {
    for (const s of servers) await s.stop();
    destroyLab();
  }
});

test("in a namespace the rules go into that namespace's tables only; a deleted namespace reads as gone", async () => {
  sh("ip", "netns", "add", "red");
  const inputs = await checked(portForward, { hostPort: 2222, toAddress: "10.0.0.9", toPort: 22, inInterface: "eth0", netns: "red", owner: owner("ssh") });
  const { id, outs } = await created(portForward, inputs);
  assert.is(id, `portforward:red/${ownerHash(inputs.owner)}`);
  assert.equal(chain("nat", "NSLAB-PREROUTING", "red"), [
    "-N NSLAB-PREROUTING",
    `-A NSLAB-PREROUTING -i eth0 -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 2222 -m comment --comment "${outs.comment}" -j DNAT --to-destination 10.0.0.9:22`,
  ]);
  assert.is(chain("nat", "NSLAB-OUTPUT", "red"), undefined, "inInterface: no OUTPUT rule, no chain");
  assert.is(chain("nat", "NSLAB-PREROUTING"), undefined, "nothing on the host");
  assert.equal(await portForward.read(id, outs), { id, props: outs });
  sh("ip", "netns", "del", "red");
  assert.equal(await portForward.read(id, outs), {});
  await portForward.delete(id, outs);
});

test("create again after a crash at any command converges to exactly one copy of the rules", async () => {
  const inputs = await checked(portForward, { hostPort: 8080, toAddress: "10.10.0.2", toPort: 80, owner: owner("crash") });
  let at = 0;
  for (; ; at++) {
    setCommandHook((_argv, index) => {
      if (index === at) throw new Error("injected crash");
    });
    const crashed = await portForward.create(inputs).then(
      () => false,
      (err: Error) => (assert.match(err.message, /^PortForward "crash": create: injected crash/), true),
    );
    setCommandHook(undefined);
    const { id, outs } = await created(portForward, inputs);
    for (const [table, name] of [["nat", "NSLAB-PREROUTING"], ["nat", "NSLAB-OUTPUT"], ["filter", "NSLAB-FORWARD"]] as const) {
      assert.equal(chain(table, name)!.filter((l) => l.includes(outs.comment)).length, 1, `${name} after a crash at command ${at}`);
    }
    assert.equal(await portForward.read(id, outs), { id, props: outs });
    await portForward.delete(id, outs);
    if (!crashed) break;
  }
  assert.is(at, 3, "2 reads (iptables-save of nat and filter) and 1 restore: every step was crashed once");
});

test("refuses another stack's forward of the same port and never deletes it; adopt takes it over", async () => {
  const a = await created(portForward, await checked(portForward, { hostPort: 8080, toAddress: "10.10.0.2", owner: owner("web", "stack-a") }));
  const bInputs = await checked(portForward, { hostPort: 8080, toAddress: "10.10.0.3", owner: owner("web", "stack-b") });
  await rejects(
    portForward.create(bInputs),
    /^PortForward "web": create: the rule "-p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8080 -m comment --comment "nslab:[0-9a-f]{12}:pf" -j DNAT --to-destination 10\.10\.0\.2:8080" in chain NSLAB-PREROUTING \(table nat\) of the host namespace already does this for another nslab resource or stack/,
    /set adopt: true/,
  );
  assert.equal(await portForward.read(a.id, a.outs), { id: a.id, props: a.outs }, "a is untouched");
  const udp = await created(portForward, await checked(portForward, { hostPort: 8080, protocol: "udp", toAddress: "10.10.0.3", owner: owner("dns", "stack-b") }));
  assert.ok(udp.id, "the same port of another protocol is no conflict");

  const b = await created(portForward, { ...bInputs, adopt: true });
  assert.equal(await portForward.read(a.id, a.outs), {}, "a's rules were taken over");
  assert.equal(chain("nat", "NSLAB-PREROUTING")!.filter((l) => l.includes("--dport 8080")).length, 2, "b's tcp and the udp forward");
  await portForward.delete(a.id, a.outs);
  assert.equal(await portForward.read(b.id, b.outs), { id: b.id, props: b.outs });
  await portForward.delete(b.id, b.outs);
  await portForward.delete(udp.id, udp.outs);
  assert.is(chain("nat", "NSLAB-PREROUTING"), undefined);
});

test("read reports drift of any of its three chains (D7); create restores it", async () => {
  const inputs = await checked(portForward, { hostPort: 8080, toAddress: "10.10.0.2", owner: owner("drift") });
  const { id, outs } = await created(portForward, inputs);
  const drifts: string[][][] = [
    [["iptables", "-t", "nat", "-F", "NSLAB-OUTPUT"]],
    [["iptables", "-t", "nat", "-D", "PREROUTING", "-m", "comment", "--comment", "nslab:jump", "-j", "NSLAB-PREROUTING"]],
    [["iptables", "-F", "NSLAB-FORWARD"]],
    [["iptables", "-t", "nat", "-F"], ["iptables", "-t", "nat", "-X"]],
  ];
  for (const commands of drifts) {
    for (const argv of commands) sh(...argv);
    assert.equal(await portForward.read(id, outs), {}, commands.map((c) => c.join(" ")).join("; "));
    await created(portForward, inputs);
    assert.equal(await portForward.read(id, outs), { id, props: outs });
  }
  await portForward.delete(id, outs);
});

test("parallel changes share one read and one restore; a change in conflict fails alone, the others land", async () => {
  const taken = await created(portForward, await checked(portForward, { hostPort: 9000, toAddress: "10.10.0.9", owner: owner("first") }));
  const restores: number[] = [];
  setCommandHook((argv) => void (argv[0] === "iptables-restore" && restores.push(1)));
  const inputs = await Promise.all(Array.from({ length: 20 }, (_, i) => checked(portForward, { hostPort: 9000 + i, toAddress: "10.10.0.2", owner: owner(`p${i}`) })));
  const outcomes = await Promise.allSettled(inputs.map((i) => portForward.create(i)));
  setCommandHook(undefined);
  assert.equal(outcomes.map((o) => o.status), ["rejected", ...Array(19).fill("fulfilled")]);
  assert.match(((outcomes[0] as PromiseRejectedResult).reason as Error).message, /^PortForward "p0": create: the rule .* already does this for another nslab resource or stack/);
  assert.ok(restores.length <= 3, `${restores.length} restores for 20 creates`);
  assert.is(chain("nat", "NSLAB-PREROUTING")!.length, 1 + 20, "the 19 new forwards and the one that was there");
  await Promise.all([taken, ...outcomes.slice(1).map((o) => (o as PromiseFulfilledResult<{ id: string; outs: PortForwardOutputs }>).value)].map((c) => portForward.delete(c.id, c.outs)));
  assert.is(chain("nat", "NSLAB-PREROUTING"), undefined);
});

test("rejects bad input in check, naming the resource, property, value and the fix; spawns nothing (B16, B17)", async () => {
  let spawned = 0;
  setCommandHook(() => void spawned++);
  const ok = { hostPort: 8080, toAddress: "10.0.0.2" };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ toAddress: "10.0.0.2" }, /^hostPort: \(unset\) is not valid: it is required/],
    [{ hostPort: 8080 }, /^toAddress: .*it is required/],
    [{ ...ok, hostPort: 0 }, /^hostPort: 0 is not valid: use an integer port from 1 to 65535/],
    [{ ...ok, hostPort: 65536 }, /^hostPort: .*1 to 65535/],
    [{ ...ok, hostPort: 80.5 }, /^hostPort: .*integer/],
    [{ ...ok, hostPort: "80" }, /^hostPort: .*integer/],
    [{ ...ok, toPort: 70000 }, /^toPort: .*1 to 65535/],
    [{ ...ok, toAddress: "2001:db8::1" }, /^toAddress: .*IPv6 is not supported here/],
    [{ ...ok, toAddress: "backend.example" }, /^toAddress: "backend.example" is not valid: host names are refused \(iptables would resolve them through DNS/],
    [{ ...ok, toAddress: "10.0.0.2:80" }, /^toAddress: .*give the address alone, without ":port"/],
    [{ ...ok, toAddress: "10.0.0.0/24" }, /^toAddress: .*without a prefix length/],
    [{ ...ok, toAddress: "300.0.0.2" }, /^toAddress: .*not an IPv4 or IPv6 address/],
    [{ ...ok, toAddress: "127.0.0.1" }, /^toAddress: .*loopback/],
    [{ ...ok, toAddress: "0.0.0.0" }, /^toAddress: .*unicast/],
    [{ ...ok, protocol: "sctp" }, /^protocol: .*use "tcp" or "udp"/],
    [{ ...ok, hostAddress: "::1" }, /^hostAddress: .*IPv6/],
    [{ ...ok, inInterface: "with space" }, /^inInterface: .*use 1-15 characters/],
    [{ ...ok, netns: "a/b" }, /^netns: /],
  ];
  for (const [news, re] of cases) {
    const f = await failures(portForward, { ...news, owner: owner("bad") });
    assert.is(f.length, 1, JSON.stringify(news));
    assert.match(f[0]!, re);
  }
  assert.equal(await failures(portForward, { hostPort: UNKNOWN, toAddress: UNKNOWN, owner: owner("bad") }), [], "unknown values are not validated");
  setCommandHook(undefined);
  assert.is(spawned, 0);
});

test("one create and one delete take (median of 21, host namespace)", async () => {
  const made: { id: string; outs: PortForwardOutputs }[] = [];
  const create = await medianMs(21, async (i) => made.push(await created(portForward, await checked(portForward, { hostPort: 9000 + i, toAddress: "10.10.0.2", owner: owner(`t${i}`) }))));
  const del = await medianMs(21, (i) => portForward.delete(made[i]!.id, made[i]!.outs));
  console.log(`    PortForward: create ${create.toFixed(1)} ms, delete ${del.toFixed(1)} ms`);
  assert.is(chain("nat", "NSLAB-PREROUTING"), undefined);
});

test.run();
