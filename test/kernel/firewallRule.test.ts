import { spawn } from "node:child_process";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { setCommandHook } from "../../provider/driver/exec";
import { ownerHash } from "../../provider/lib/owner";
import { firewallRule, type FirewallRuleInputs, type FirewallRuleOutputs } from "../../provider/resources/firewallRule";
import { portForward } from "../../provider/resources/portForward";
import { checked, created, failures, owner, rejects, sh, UNKNOWN } from "../helpers/kernel";
import { buildLab, chain, connect, destroyLab, HOST_UP, LAB, LAN, medianMs, pings, serve, type Server } from "../helpers/netfilterLab";

const test = suite("FirewallRule");

const ESTABLISHED = `-A NSLAB-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:established" -j ACCEPT`;
const JUMP = `-A FORWARD -m comment --comment "nslab:jump" -j NSLAB-FORWARD`;

/** The comments of nslab's FORWARD chain in order, without the implicit first rule. */
function order(netns?: string): string[] {
  return (chain("filter", "NSLAB-FORWARD", netns) ?? []).slice(2).map((l) => /--comment "([^"]+)"/.exec(l)![1]!);
}

test("create, read, update action and priority in place, delete, delete again", async () => {
  const inputs = await checked(firewallRule, { action: "accept", protocol: "tcp", destinationPort: 80, owner: owner("web") });
  assert.equal([inputs.chain, inputs.priority], ["forward", 100], "defaults: forward, priority 100");
  const hash = ownerHash(inputs.owner);
  const { id, outs } = await created(firewallRule, inputs);
  assert.is(id, `firewallrule:-/${hash}`);
  assert.is(outs.comment, `nslab:${hash}:fw:100:web`);
  assert.equal(chain("filter", "NSLAB-FORWARD"), ["-N NSLAB-FORWARD", ESTABLISHED, `-A NSLAB-FORWARD -p tcp -m tcp --dport 80 -m comment --comment "${outs.comment}" -j ACCEPT`]);
  assert.equal(chain("filter", "FORWARD"), ["-P FORWARD ACCEPT", JUMP]);
  assert.equal(await firewallRule.read(id, outs), { id, props: outs });

  const news: FirewallRuleInputs = { ...inputs, action: "reject", priority: 5 };
  const diff = await firewallRule.diff(id, outs, news);
  assert.equal([diff.changes, diff.replaces], [true, []], "in place");
  const updated = (await firewallRule.update(id, outs, news)).outs!;
  assert.is(updated.comment, `nslab:${hash}:fw:5:web`);
  assert.equal(chain("filter", "NSLAB-FORWARD"), [
    "-N NSLAB-FORWARD",
    ESTABLISHED,
    `-A NSLAB-FORWARD -p tcp -m tcp --dport 80 -m comment --comment "${updated.comment}" -j REJECT --reject-with icmp-port-unreachable`,
  ]);
  assert.equal(await firewallRule.read(id, updated), { id, props: updated });
  assert.equal(await firewallRule.read(id, outs), {}, "the old rule is gone");

  await firewallRule.delete(id, updated);
  assert.is(chain("filter", "NSLAB-FORWARD"), undefined);
  assert.equal(chain("filter", "FORWARD"), ["-P FORWARD ACCEPT"]);
  assert.equal(await firewallRule.read(id, updated), {});
  await firewallRule.delete(id, updated);
});

test("the match, the namespace and the chain are identity: a change replaces, delete first; action and priority do not", async () => {
  const olds = { action: "accept", chain: "forward", priority: 100, owner: owner("r"), comment: "c" } as FirewallRuleOutputs;
  for (const [key, value] of [["chain", "input"], ["netns", "red"], ["chain", UNKNOWN], ["source", "10.0.0.1"], ["protocol", "udp"], ["inInterface", "eth0"]] as const) {
    const d = await firewallRule.diff("firewallrule:-/x", olds, { ...olds, [key]: value });
    assert.equal([d.changes, d.replaces, d.deleteBeforeReplace], [true, [key], true], `${key}=${value}`);
  }
  for (const [key, value] of [["action", "drop"], ["priority", 1]] as const) {
    const d = await firewallRule.diff("firewallrule:-/x", olds, { ...olds, [key]: value });
    assert.equal([d.changes, d.replaces], [true, []], `${key}=${value}`);
  }
  assert.equal((await firewallRule.diff("firewallrule:-/x", { ...olds, source: "10.0.0.1" }, olds)).replaces, ["source"], "removing a match replaces the rule");
  assert.is((await firewallRule.diff("firewallrule:-/x", olds, { ...olds })).changes, false);
});

test("orders the chain by priority, then name, whatever the creation order; a priority update moves the rule", async () => {
  const specs: [string, number][] = [["zeta", 50], ["alpha", 100], ["beta", 100], ["omega", 1], ["gamma", 100], ["delta", 50]];
  const made = await Promise.all(specs.map(async ([name, priority]) => created(firewallRule, await checked(firewallRule, { action: "accept", priority, owner: owner(name) }))));
  const expected = (names: string[]) => names.map((n) => made.find((m) => m.outs.owner.path[0] === n)!.outs.comment);
  assert.equal(order(), expected(["omega", "delta", "zeta", "alpha", "beta", "gamma"]));
  const gamma = made.find((m) => m.outs.owner.path[0] === "gamma")!;
  const moved = (await firewallRule.update(gamma.id, gamma.outs, { ...gamma.outs, priority: 0 })).outs!;
  assert.is(order()[0], moved.comment, "gamma first after priority 0");
  for (const m of made) await firewallRule.delete(m.id, m.outs);
  assert.is(chain("filter", "NSLAB-FORWARD"), undefined);
});

test("accept tcp/80 then drop the rest, created in the wrong order, do what their priorities say; replies pass", async () => {
  buildLab();
  sh("ip", "-n", "lan", "route", "add", "10.10.0.0/24", "via", HOST_UP);
  const servers: Server[] = [await serve("lab", LAB, 80, "web"), await serve("lab", LAB, 81, "other"), await serve("lan", LAN, 9000, "lan")];
  try {
    assert.is(connect("lan", LAB, 81), `other ${LAN}`, "routed, no rule: everything passes");
    const drop = await created(firewallRule, await checked(firewallRule, { action: "drop", priority: 20, source: "192.168.50.0/24", destination: "10.10.0.0/24", owner: owner("drop-rest") }));
    assert.is(connect("lan", LAB, 80, 1), undefined, "only the drop so far");
    const accept = await created(firewallRule, await checked(firewallRule, { action: "accept", priority: 10, source: "192.168.50.0/24", destination: LAB, protocol: "tcp", destinationPort: 80, owner: owner("web") }));
    assert.equal(order(), [accept.outs.comment, drop.outs.comment]);
    assert.is(connect("lan", LAB, 80), `web ${LAN}`, "tcp/80 accepted");
    assert.is(connect("lan", LAB, 81, 1), undefined, "tcp/81 dropped");
    assert.not.ok(pings("lan", LAB), "icmp dropped");
    assert.ok(pings("lab", LAN), "lab to LAN passes, and the replies come back (ESTABLISHED first)");
    assert.is(connect("lab", LAN, 9000), `lan ${LAB}`);

    const reject = await created(firewallRule, await checked(firewallRule, { action: "reject", priority: 15, protocol: "tcp", destinationPort: "81:82", owner: owner("reject") }));
    const started = Date.now();
    assert.is(connect("lan", LAB, 81, 3), undefined, "tcp/81 rejected");
    assert.ok(Date.now() - started < 2000, "a reject answers at once (a drop would wait for the 3 s timeout)");

    const input = await created(firewallRule, await checked(firewallRule, { action: "drop", chain: "input", inInterface: "up0", protocol: "icmp", owner: owner("no-ping") }));
    assert.not.ok(pings("lan", HOST_UP), "input chain: ping to the host dropped");
    await firewallRule.delete(input.id, input.outs);
    assert.ok(pings("lan", HOST_UP));

    for (const r of [reject, accept, drop]) await firewallRule.delete(r.id, r.outs);
    assert.is(connect("lan", LAB, 81), `other ${LAN}`, "all deleted: everything passes again");
  } finally {
    for (const s of servers) await s.stop();
    destroyLab();
  }
});

test("a PortForward's accept sits at priority 100, after the rules of 100: a published port stays open under a drop of the rest at 1000, the target's own address does not; a state match at the default 100 closes it", async () => {
  buildLab();
  sh("ip", "-n", "lan", "route", "add", "10.10.0.0/24", "via", HOST_UP);
  const servers: Server[] = [await serve("lab", LAB, 80, "web"), await serve("lab", LAB, 81, "other"), await serve("lan", LAN, 9000, "lan")];
  try {
    const rest = await created(firewallRule, await checked(firewallRule, { action: "drop", priority: 1000, inInterface: "up0", owner: owner("drop-rest") }));
    const pf = await created(portForward, await checked(portForward, { hostPort: 8080, toAddress: LAB, toPort: 80, owner: owner("web") }));
    assert.equal(order(), [pf.outs.comment, rest.outs.comment], "the forward's accept (100) before the drop (1000)");
    assert.is(connect("lan", HOST_UP, 8080), `web ${LAN}`, "the published port is reachable");
    assert.is(connect("lan", LAB, 80, 1), undefined, "the target's own address and port are not: only what was DNATed is accepted");
    assert.is(connect("lan", LAB, 81, 1), undefined, "an unpublished port is not");
    assert.is(connect("lab", LAN, 9000), `lan ${LAB}`, "the inside reaches out, the replies pass");

    // Created as ["new", "invalid"]: stored and written in iptables' order, so a reordered list is no change.
    const close = await created(firewallRule, await checked(firewallRule, { action: "drop", source: LAN, state: ["new", "invalid"], owner: owner("close") }));
    assert.equal(close.outs.state, ["invalid", "new"]);
    assert.ok(chain("filter", "NSLAB-FORWARD")!.includes(`-A NSLAB-FORWARD -s ${LAN}/32 -m conntrack --ctstate INVALID,NEW -m comment --comment "${close.outs.comment}" -j DROP`));
    assert.is((await firewallRule.diff(close.id, close.outs, await checked(firewallRule, { ...close.outs, state: ["new", "invalid"] }))).changes, false);
    assert.equal((await firewallRule.diff(close.id, close.outs, { ...close.outs, state: ["new"] })).replaces, ["state"]);
    assert.equal(order(), [close.outs.comment, pf.outs.comment, rest.outs.comment]);
    assert.is(connect("lan", HOST_UP, 8080, 1), undefined, "a rule at the default priority, 100, closes the published port");
    assert.is(connect("lab", LAN, 9000), `lan ${LAB}`, "new connections from the LAN are dropped, replies to the lab's are not");
    for (const r of [close, rest]) await firewallRule.delete(r.id, r.outs);
    await portForward.delete(pf.id, pf.outs);
  } finally {
    for (const s of servers) await s.stop();
    destroyLab();
  }
});

test("20 parallel creates of distinct rules all succeed, with one jump (C4)", async () => {
  const made = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => created(firewallRule, await checked(firewallRule, { action: "accept", priority: i, source: `10.0.${i}.0/24`, owner: owner(`r${i}`) }))),
  );
  assert.equal(order(), made.map((m) => m.outs.comment), "all 20, in priority order");
  assert.equal(chain("filter", "FORWARD"), ["-P FORWARD ACCEPT", JUMP]);
  await Promise.all(made.map((m) => firewallRule.delete(m.id, m.outs)));
  assert.is(chain("filter", "NSLAB-FORWARD"), undefined);
  assert.equal(chain("filter", "FORWARD"), ["-P FORWARD ACCEPT"]);
});

test("20 parallel creates and updates of the same rule leave one rule and one jump (C7)", async () => {
  const inputs = await checked(firewallRule, { action: "drop", protocol: "udp", owner: owner("same") });
  const results = await Promise.all(Array.from({ length: 20 }, () => created(firewallRule, inputs)));
  const { id, outs } = results[0]!;
  await Promise.all(Array.from({ length: 20 }, () => firewallRule.update(id, outs, inputs)));
  assert.equal(chain("filter", "NSLAB-FORWARD"), ["-N NSLAB-FORWARD", ESTABLISHED, `-A NSLAB-FORWARD -p udp -m comment --comment "${outs.comment}" -j DROP`]);
  assert.equal(chain("filter", "FORWARD"), ["-P FORWARD ACCEPT", JUMP]);
  await firewallRule.delete(id, outs);
});

test("two provider processes (two stacks) creating 10 rules each in parallel leave all 20 rules and exactly one jump (C3)", async () => {
  const provider = path.resolve(__dirname, "../../provider/resources/firewallRule");
  const lib = path.resolve(__dirname, "../../provider/lib/owner");
  const run = (stack: string, verb: "create" | "delete") =>
    new Promise<void>((resolve, reject) => {
      const code = `
        const { firewallRule } = require(${JSON.stringify(provider)});
        const { ownerHash } = require(${JSON.stringify(lib)});
        const owner = (i) => ({ project: "nslab-test", stack: ${JSON.stringify(stack)}, path: ["r" + i] });
        Promise.all(Array.from({ length: 10 }, async (_, i) => {
          const inputs = (await firewallRule.check({}, { action: "accept", priority: i, owner: owner(i) })).inputs;
          if (${JSON.stringify(verb)} === "create") await firewallRule.create(inputs);
          else await firewallRule.delete("firewallrule:-/" + ownerHash(owner(i)), inputs);
        })).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
      const child = spawn(process.execPath, ["--import", "tsx", "-e", code], { stdio: ["ignore", "inherit", "inherit"] });
      child.on("exit", (c) => (c === 0 ? resolve() : reject(new Error(`${stack} ${verb} exited ${c}`))));
    });
  await Promise.all([run("stack-a", "create"), run("stack-b", "create")]);
  assert.is(new Set(order().map((c) => c.split(":")[1])).size, 20, "20 rules of 20 distinct owners");
  assert.equal(chain("filter", "FORWARD"), ["-P FORWARD ACCEPT", JUMP]);
  await Promise.all([run("stack-a", "delete"), run("stack-b", "delete")]);
  assert.is(chain("filter", "NSLAB-FORWARD"), undefined);
  assert.equal(chain("filter", "FORWARD"), ["-P FORWARD ACCEPT"]);
});

test("create again after a crash at any command converges to exactly one copy of the rule", async () => {
  const inputs = await checked(firewallRule, { action: "accept", chain: "input", protocol: "tcp", destinationPort: 22, owner: owner("crash") });
  let at = 0;
  for (; ; at++) {
    setCommandHook((_argv, index) => {
      if (index === at) throw new Error("injected crash");
    });
    const crashed = await firewallRule.create(inputs).then(
      () => false,
      (err: Error) => (assert.match(err.message, /^FirewallRule "crash": create: injected crash/), true),
    );
    setCommandHook(undefined);
    const { id, outs } = await created(firewallRule, inputs);
    assert.equal(chain("filter", "NSLAB-INPUT")!.slice(2), [`-A NSLAB-INPUT -p tcp -m tcp --dport 22 -m comment --comment "${outs.comment}" -j ACCEPT`], `crash at command ${at}`);
    assert.equal(await firewallRule.read(id, outs), { id, props: outs });
    await firewallRule.delete(id, outs);
    if (!crashed) break;
  }
  assert.is(at, 2, "1 read (iptables-save of the table) and 1 restore: every step was crashed once");
});

test("read reports drift: our chain flushed, our jump removed, the table flushed (D7); create restores it", async () => {
  const inputs = await checked(firewallRule, { action: "drop", chain: "output", outInterface: "eth9", owner: owner("drift") });
  const { id, outs } = await created(firewallRule, inputs);
  const drifts: string[][][] = [
    [["iptables", "-F", "NSLAB-OUTPUT"]],
    [["iptables", "-D", "OUTPUT", "-m", "comment", "--comment", "nslab:jump", "-j", "NSLAB-OUTPUT"]],
    [["iptables", "-F"]],
    [["iptables", "-F"], ["iptables", "-X"]],
  ];
  for (const commands of drifts) {
    for (const argv of commands) sh(...argv);
    assert.equal(await firewallRule.read(id, outs), {}, commands.map((c) => c.join(" ")).join("; "));
    await created(firewallRule, inputs);
    assert.equal(await firewallRule.read(id, outs), { id, props: outs });
  }
  sh("iptables", "-A", "NSLAB-OUTPUT", "-j", "ACCEPT");
  await firewallRule.update(id, outs, inputs);
  assert.equal(chain("filter", "NSLAB-OUTPUT")!.slice(2), [`-A NSLAB-OUTPUT -o eth9 -m comment --comment "${outs.comment}" -j DROP`], "a hand-added rule in our chain is overwritten by the next change (D8)");
  await firewallRule.delete(id, outs);
  assert.is(chain("filter", "NSLAB-OUTPUT"), undefined);
});

test("in a namespace the rules go into that namespace's tables only", async () => {
  sh("ip", "netns", "add", "red");
  const { id, outs } = await created(firewallRule, await checked(firewallRule, { action: "accept", source: "10.1.2.3", netns: "red", owner: owner("red-fw") }));
  assert.is(id, `firewallrule:red/${ownerHash(outs.owner)}`);
  assert.equal(order("red"), [outs.comment]);
  assert.is(chain("filter", "NSLAB-FORWARD"), undefined, "nothing on the host");
  await firewallRule.delete(id, outs);
  assert.is(chain("filter", "NSLAB-FORWARD", "red"), undefined);
  sh("ip", "netns", "del", "red");
  await firewallRule.delete(id, outs);
  await rejects(firewallRule.create(outs), /^FirewallRule "red-fw": create: netns: namespace "red" does not exist/);
});

test("rejects bad input in check, naming the resource, property, value and the fix; spawns nothing (B16, B17, B20)", async () => {
  let spawned = 0;
  setCommandHook(() => void spawned++);
  const ok = { action: "accept" };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{}, /^action: \(unset\) is not valid: it is required/],
    [{ action: "allow" }, /^action: .*use "accept", "drop" or "reject"/],
    [{ ...ok, chain: "prerouting" }, /^chain: .*use "forward" \(routed through\), "input" \(to this namespace\) or "output"/],
    [{ ...ok, priority: -1 }, /^priority: -1 is not valid: use an integer from 0 to 65535 \(lower is matched first\)/],
    [{ ...ok, priority: 1.5 }, /^priority: .*integer/],
    [{ ...ok, priority: 70000 }, /^priority: .*65535/],
    [{ ...ok, protocol: "tcp", destinationPort: 0 }, /^destinationPort: .*use an integer port from 1 to 65535/],
    [{ ...ok, protocol: "tcp", destinationPort: 70000 }, /^destinationPort: .*1 to 65535/],
    [{ ...ok, protocol: "udp", destinationPort: "90:80" }, /^destinationPort: .*the range is reversed; use "80:90"/],
    [{ ...ok, protocol: "udp", destinationPort: "80-90" }, /^destinationPort: .*a range "from:to"/],
    [{ ...ok, destinationPort: 80 }, /^destinationPort: .*a port needs a protocol; set protocol: "tcp" or "udp"/],
    [{ ...ok, protocol: "icmp", destinationPort: 80 }, /^destinationPort: .*a port needs protocol "tcp" or "udp" \(protocol is "icmp"\)/],
    [{ ...ok, protocol: "sctp" }, /^protocol: .*use "tcp", "udp", "icmp" or "all"/],
    [{ ...ok, chain: "output", inInterface: "eth0" }, /^inInterface: .*iptables refuses -i in OUTPUT/],
    [{ ...ok, chain: "input", outInterface: "eth0" }, /^outInterface: .*iptables refuses -o in INPUT/],
    [{ ...ok, source: "fd00::/8" }, /^source: .*IPv6 is not supported here/],
    [{ ...ok, destination: "db.example" }, /^destination: .*host names are refused/],
    [{ ...ok, source: "10.0.0.1/8" }, /^source: .*host bits set; write the network "10\.0\.0\.0\/8"/],
    [{ ...ok, source: "10.0.0.01" }, /^source: .*write "10\.0\.0\.1"/],
    [{ ...ok, inInterface: "eth0:1" }, /^inInterface: .*use 1-15 characters/],
    [{ ...ok, state: [] }, /^state: \[\] is not valid: use a non-empty list of distinct connection states from "invalid", "new", "related", "established"/],
    [{ ...ok, state: ["NEW"] }, /^state: .*connection states/],
    [{ ...ok, state: ["new", "new"] }, /^state: .*distinct/],
    [{ ...ok, state: "new" }, /^state: .*e\.g\. \["new"\]/],
  ];
  for (const [news, re] of cases) {
    const f = await failures(firewallRule, { ...news, owner: owner("bad") });
    assert.is(f.length, 1, JSON.stringify(news));
    assert.match(f[0]!, re);
  }
  assert.equal(await failures(firewallRule, { action: "accept", chain: UNKNOWN, inInterface: "eth0", protocol: UNKNOWN, destinationPort: 80, owner: owner("bad") }), [], "unknown values are not validated");
  setCommandHook(undefined);
  assert.is(spawned, 0);
});

test("one create and one delete take (median of 21, host namespace)", async () => {
  const made: { id: string; outs: FirewallRuleOutputs }[] = [];
  const create = await medianMs(21, async (i) => made.push(await created(firewallRule, await checked(firewallRule, { action: "accept", priority: i, owner: owner(`t${i}`) }))));
  const del = await medianMs(21, (i) => firewallRule.delete(made[i]!.id, made[i]!.outs));
  console.log(`    FirewallRule: create ${create.toFixed(1)} ms, delete ${del.toFixed(1)} ms`);
  assert.is(chain("filter", "NSLAB-FORWARD"), undefined);
});

test.run();
