import { suite } from "uvu";
import * as assert from "uvu/assert";
import { setCommandHook } from "../../provider/driver/exec";
import { ownerHash } from "../../provider/lib/owner";
import { firewallRule } from "../../provider/resources/firewallRule";
import { natRule, type NatRuleInputs } from "../../provider/resources/natRule";
import { portForward } from "../../provider/resources/portForward";
import { checked, created, failures, owner, rejects, sh, UNKNOWN } from "../helpers/kernel";
import { buildLab, chain, connect, destroyLab, HOST_UP, iptablesSave, LAN, medianMs, pings, serve } from "../helpers/netfilterLab";

const test = suite("NatRule");

const post = (comment: string, rest = "-o up0", target = "-j MASQUERADE") => `-A NSLAB-POSTROUTING -s 10.10.0.0/24 ${rest} -m comment --comment "${comment}" ${target}`;
const ESTABLISHED = `-A NSLAB-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:established" -j ACCEPT`;

test("create, read, update toSource in place, delete, delete again", async () => {
  const inputs = await checked(natRule, { source: "10.10.0.0/24", outInterface: "up0", owner: owner("masq") });
  const hash = ownerHash(inputs.owner);
  const { id, outs } = await created(natRule, inputs);
  assert.is(id, `natrule:-/${hash}`);
  assert.is(outs.comment, `nslab:${hash}:nat`);
  assert.equal(chain("nat", "NSLAB-POSTROUTING"), ["-N NSLAB-POSTROUTING", post(outs.comment)]);
  assert.equal(chain("nat", "POSTROUTING"), ["-P POSTROUTING ACCEPT", `-A POSTROUTING -m comment --comment "nslab:jump" -j NSLAB-POSTROUTING`]);
  assert.equal(chain("filter", "NSLAB-FORWARD"), ["-N NSLAB-FORWARD", ESTABLISHED, `-A NSLAB-FORWARD -s 10.10.0.0/24 -o up0 -m comment --comment "${outs.comment}" -j ACCEPT`]);
  assert.equal(chain("filter", "FORWARD"), ["-P FORWARD ACCEPT", `-A FORWARD -m comment --comment "nslab:jump" -j NSLAB-FORWARD`]);
  assert.equal(await natRule.read(id, outs), { id, props: outs });

  const news = { ...inputs, toSource: "192.168.50.1" };
  const diff = await natRule.diff(id, outs, news);
  assert.equal([diff.changes, diff.replaces], [true, []]);
  const updated = (await natRule.update(id, outs, news)).outs!;
  assert.equal(updated, { ...news, comment: outs.comment });
  assert.equal(chain("nat", "NSLAB-POSTROUTING"), ["-N NSLAB-POSTROUTING", post(outs.comment, "-o up0", "-j SNAT --to-source 192.168.50.1")]);
  assert.equal(await natRule.read(id, updated), { id, props: updated });
  const back = await natRule.diff(id, updated, inputs);
  assert.equal([back.changes, back.replaces], [true, []], "unsetting toSource goes back to MASQUERADE, in place");

  await natRule.delete(id, updated);
  for (const [table, name] of [["nat", "NSLAB-POSTROUTING"], ["filter", "NSLAB-FORWARD"]]) assert.is(chain(table!, name!), undefined, name);
  assert.equal(chain("nat", "POSTROUTING"), ["-P POSTROUTING ACCEPT"]);
  assert.equal(chain("filter", "FORWARD"), ["-P FORWARD ACCEPT"]);
  assert.equal(await natRule.read(id, updated), {});
  await natRule.delete(id, updated);
});

test("a change of source, interfaces or namespace replaces, delete first; an unknown one too", async () => {
  const olds = { source: "10.0.0.0/24", owner: owner("n"), comment: "c" } as NatRuleInputs & { comment: string };
  for (const [key, value] of [["source", "10.1.0.0/24"], ["outInterface", "eth1"], ["notOutInterface", "eth1"], ["netns", "red"], ["source", UNKNOWN]] as const) {
    const d = await natRule.diff("natrule:-/x", olds, { ...olds, [key]: value });
    assert.equal([d.changes, d.replaces, d.deleteBeforeReplace], [true, [key], true], `${key}=${value}`);
  }
  assert.is((await natRule.diff("natrule:-/x", olds, { ...olds })).changes, false);
  assert.is((await natRule.diff("natrule:-/x", olds, { ...olds, adopt: true })).changes, false, "adopt changes nothing in the kernel");
});

test("MASQUERADE through a FORWARD policy DROP: the LAN sees the host's address; toSource changes it in place", async () => {
  buildLab();
  sh("iptables", "-P", "FORWARD", "DROP");
  const server = await serve("lan", LAN, 7000, "lan");
  try {
    assert.not.ok(pings("lab", LAN), "policy DROP and no rule: nothing passes");
    const inputs = await checked(natRule, { source: "10.10.0.0/24", outInterface: "up0", owner: owner("masq") });
    const { id, outs } = await created(natRule, inputs);
    assert.ok(pings("lab", LAN), "ping passes FORWARD and is translated");
    assert.is(connect("lab", LAN, 7000), `lan ${HOST_UP}`, "the LAN sees the host's address");

    sh("ip", "addr", "add", "192.168.50.100/24", "dev", "up0");
    const updated = (await natRule.update(id, outs, { ...inputs, toSource: "192.168.50.100" })).outs!;
    assert.is(connect("lab", LAN, 7000), "lan 192.168.50.100", "SNAT to toSource");

    await natRule.delete(id, updated);
    assert.not.ok(pings("lab", LAN), "after delete nothing passes again");
  } finally {
    await server.stop();
    destroyLab();
  }
});

test("in a namespace the rules go into that namespace's tables only; a deleted namespace reads as gone", async () => {
  sh("ip", "netns", "add", "red");
  const inputs = await checked(natRule, { source: "10.20.0.0/16", notOutInterface: "br0", toSource: "192.0.2.7", netns: "red", owner: owner("red-nat") });
  const { id, outs } = await created(natRule, inputs);
  assert.is(id, `natrule:red/${ownerHash(inputs.owner)}`);
  assert.equal(chain("nat", "NSLAB-POSTROUTING", "red"), ["-N NSLAB-POSTROUTING", `-A NSLAB-POSTROUTING -s 10.20.0.0/16 ! -o br0 -m comment --comment "${outs.comment}" -j SNAT --to-source 192.0.2.7`]);
  assert.is(chain("nat", "NSLAB-POSTROUTING"), undefined, "nothing on the host");
  assert.equal(await natRule.read(id, outs), { id, props: outs });
  await natRule.delete(id, outs);
  assert.is(chain("nat", "NSLAB-POSTROUTING", "red"), undefined);

  const again = await created(natRule, inputs);
  sh("ip", "netns", "del", "red");
  assert.equal(await natRule.read(again.id, again.outs), {});
  await natRule.delete(again.id, again.outs);
});

test("fails to create in a namespace that does not exist, saying what is missing", async () => {
  const inputs = await checked(natRule, { source: "10.0.0.0/24", netns: "nosuch", owner: owner("lost") });
  await rejects(natRule.create(inputs), /^NatRule "lost": create: netns: namespace "nosuch" does not exist; create it first: pass the nslab.Netns resource itself as netns/);
});

test("create twice, or again after a crash at any command, leaves exactly one copy of the rules (I1, I3)", async () => {
  const inputs = await checked(natRule, { source: "10.10.0.0/24", outInterface: "up0", owner: owner("crash") });
  const comment = `nslab:${ownerHash(inputs.owner)}:nat`;
  let at = 0;
  for (; ; at++) {
    setCommandHook((_argv, index) => {
      if (index === at) throw new Error("injected crash");
    });
    const crashed = await natRule.create(inputs).then(
      () => false,
      (err: Error) => (assert.match(err.message, /^NatRule "crash": create: injected crash/), true),
    );
    setCommandHook(undefined);
    const { id, outs } = await created(natRule, inputs);
    assert.equal(chain("nat", "NSLAB-POSTROUTING"), ["-N NSLAB-POSTROUTING", post(comment)], `crash at command ${at}`);
    assert.equal(chain("nat", "POSTROUTING")!.length, 2, "one jump");
    assert.equal(await natRule.read(id, outs), { id, props: outs });
    await natRule.delete(id, outs);
    if (!crashed) break;
  }
  assert.is(at, 3, "2 reads (iptables-save of nat and filter) and 1 restore: every step was crashed once");
});

test("refuses another stack's rule with the same matches and never deletes it; adopt takes it over", async () => {
  const a = await created(natRule, await checked(natRule, { source: "10.10.0.0/24", outInterface: "up0", owner: owner("nat", "stack-a") }));
  const bInputs = await checked(natRule, { source: "10.10.0.0/24", outInterface: "up0", toSource: "192.0.2.1", owner: owner("nat", "stack-b") });
  await rejects(
    natRule.create(bInputs),
    /^NatRule "nat": create: the rule "-s 10\.10\.0\.0\/24 -o up0 -m comment --comment "nslab:[0-9a-f]{12}:nat" -j MASQUERADE" in chain NSLAB-POSTROUTING \(table nat\) of the host namespace already does this for another nslab resource or stack/,
    /remove the rule with: iptables -w 5 -t nat -D NSLAB-POSTROUTING -s 10\.10\.0\.0\/24/,
    /set adopt: true to take it over/,
  );
  assert.equal(chain("nat", "NSLAB-POSTROUTING"), ["-N NSLAB-POSTROUTING", post(a.outs.comment)], "a's rule untouched");

  const b = await created(natRule, { ...bInputs, adopt: true });
  assert.equal(chain("nat", "NSLAB-POSTROUTING"), ["-N NSLAB-POSTROUTING", post(b.outs.comment, "-o up0", "-j SNAT --to-source 192.0.2.1")]);
  assert.equal(chain("filter", "NSLAB-FORWARD"), ["-N NSLAB-FORWARD", ESTABLISHED, `-A NSLAB-FORWARD -s 10.10.0.0/24 -o up0 -m comment --comment "${b.outs.comment}" -j ACCEPT`]);
  assert.equal(await natRule.read(a.id, a.outs), {}, "a's rules were taken over");
  await natRule.delete(a.id, a.outs);
  assert.equal(await natRule.read(b.id, b.outs), { id: b.id, props: b.outs }, "deleting a leaves b's rules");
  await natRule.delete(b.id, b.outs);
  assert.is(chain("nat", "NSLAB-POSTROUTING"), undefined);
});

test("read reports drift: our chain flushed, our jump removed, the table flushed (D7); create restores it", async () => {
  const inputs = await checked(natRule, { source: "10.10.0.0/24", owner: owner("drift") });
  const other = await created(natRule, await checked(natRule, { source: "10.30.0.0/24", owner: owner("bystander") }));
  const { id, outs } = await created(natRule, inputs);
  const drifts: [string, string[][]][] = [
    ["our nat chain flushed", [["iptables", "-t", "nat", "-F", "NSLAB-POSTROUTING"]]],
    ["our nat jump removed", [["iptables", "-t", "nat", "-D", "POSTROUTING", "-m", "comment", "--comment", "nslab:jump", "-j", "NSLAB-POSTROUTING"]]],
    ["our filter jump removed", [["iptables", "-D", "FORWARD", "-m", "comment", "--comment", "nslab:jump", "-j", "NSLAB-FORWARD"]]],
    ["our rule changed by hand", [["iptables", "-t", "nat", "-R", "NSLAB-POSTROUTING", String(chain("nat", "NSLAB-POSTROUTING")!.findIndex((l) => l.includes(outs.comment))), "-s", "10.10.0.0/24", "-m", "comment", "--comment", outs.comment, "-j", "SNAT", "--to-source", "192.0.2.9"]]],
    ["the nat table flushed", [["iptables", "-t", "nat", "-F"]]],
    ["both tables flushed and user chains deleted (a firewall reload)", [["iptables", "-t", "nat", "-F"], ["iptables", "-t", "nat", "-X"], ["iptables", "-F"], ["iptables", "-X"]]],
  ];
  for (const [what, commands] of drifts) {
    for (const argv of commands) sh(...argv);
    assert.equal(await natRule.read(id, outs), {}, what);
    await created(natRule, inputs);
    assert.equal(await natRule.read(id, outs), { id, props: outs }, `${what}: restored`);
    assert.equal(chain("nat", "POSTROUTING")!.length, 2, `${what}: one jump`);
  }
  await natRule.delete(id, outs);
  await natRule.delete(other.id, other.outs);
  assert.is(chain("nat", "NSLAB-POSTROUTING"), undefined);
});

test("delete succeeds when pieces are already gone: a jump removed, a chain flushed, the tables flushed (P6)", async () => {
  const inputs = await checked(natRule, { source: "10.10.0.0/24", owner: owner("p6") });
  const damages: string[][][] = [
    [["iptables", "-t", "nat", "-D", "POSTROUTING", "-m", "comment", "--comment", "nslab:jump", "-j", "NSLAB-POSTROUTING"]],
    [["iptables", "-F", "NSLAB-FORWARD"]],
    [["iptables", "-t", "nat", "-F"], ["iptables", "-F"]],
    [["iptables", "-t", "nat", "-F"], ["iptables", "-t", "nat", "-X"], ["iptables", "-F"], ["iptables", "-X"]],
  ];
  for (const commands of damages) {
    const { id, outs } = await created(natRule, inputs);
    for (const argv of commands) sh(...argv);
    await natRule.delete(id, outs);
    const what = commands.map((c) => c.join(" ")).join("; ");
    assert.is(chain("nat", "NSLAB-POSTROUTING"), undefined, what);
    assert.is(chain("filter", "NSLAB-FORWARD"), undefined, what);
    assert.equal([chain("nat", "POSTROUTING"), chain("filter", "FORWARD")], [["-P POSTROUTING ACCEPT"], ["-P FORWARD ACCEPT"]], what);
  }
});

test("foreign rules in built-in chains and other tables survive create and delete of every kind, byte for byte (I7)", async () => {
  const foreign: string[][] = [
    ["-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.99.0.1:80"],
    ["-t", "nat", "-A", "POSTROUTING", "-s", "10.10.0.0/24", "-j", "MASQUERADE"],
    ["-t", "nat", "-A", "OUTPUT", "-d", "10.99.0.9", "-j", "RETURN"],
    ["-A", "FORWARD", "-i", "foreign0", "-m", "comment", "--comment", "nslab:jump", "-j", "ACCEPT"],
    ["-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"],
    ["-t", "mangle", "-A", "PREROUTING", "-j", "MARK", "--set-mark", "7"],
  ];
  for (const rule of foreign) sh("iptables", ...rule);
  const before = iptablesSave();

  const made = [
    { p: natRule, r: await created(natRule, await checked(natRule, { source: "10.10.0.0/24", owner: owner("c-nat") })) },
    { p: portForward, r: await created(portForward, await checked(portForward, { hostPort: 8080, toAddress: "10.10.0.2", toPort: 80, owner: owner("c-pf") })) },
    { p: firewallRule, r: await created(firewallRule, await checked(firewallRule, { action: "drop", protocol: "tcp", destinationPort: 22, chain: "input", owner: owner("c-fw") })) },
  ];
  const during = iptablesSave().split("\n");
  for (const line of before.split("\n").filter((l) => l.startsWith("-A"))) assert.ok(during.includes(line), `kept while ours exist: ${line}`);
  assert.match(during.filter((l) => l.startsWith("-A PREROUTING") && l.includes("nslab:jump")).join(), /-j NSLAB-PREROUTING/);
  for (const { p, r } of made) await p.delete(r.id, r.outs as never);
  assert.is(iptablesSave(), before, "iptables-save is byte for byte what it was");

  for (const rule of foreign) sh("iptables", ...rule.map((w) => (w === "-A" ? "-D" : w)));
});

test("rejects bad input in check, naming the resource, property, value and the fix; spawns nothing (B9, B17)", async () => {
  let spawned = 0;
  setCommandHook(() => void spawned++);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{}, /^source: \(unset\) is not valid: it is required/],
    [{ source: "fd00::/64" }, /^source: "fd00::\/64" is not valid: IPv6 is not supported here/],
    [{ source: "10.0.0.1/24" }, /^source: .*host bits set; write the network "10\.0\.0\.0\/24"/],
    [{ source: "10.0.0.1" }, /^source: .*give the prefix length explicitly/],
    [{ source: "010.0.0.0/24" }, /^source: .*write "10\.0\.0\.0\/24".*octal/],
    [{ source: "lan.example/24" }, /^source: .*host names are refused/],
    [{ source: "10.0.0.0/24", toSource: "gw.example" }, /^toSource: "gw.example" is not valid: host names are refused .*DNS/],
    [{ source: "10.0.0.0/24", toSource: "2001:db8::1" }, /^toSource: .*IPv6/],
    [{ source: "10.0.0.0/24", toSource: "127.0.0.1" }, /^toSource: .*loopback/],
    [{ source: "10.0.0.0/24", toSource: "10.0.0.1/32" }, /^toSource: .*without a prefix length/],
    [{ source: "10.0.0.0/24", outInterface: "eth0", notOutInterface: "eth1" }, /^notOutInterface: .*exclusive: set only one of them/],
    [{ source: "10.0.0.0/24", outInterface: "a/b" }, /^outInterface: "a\/b" is not valid: use 1-15 characters/],
    [{ source: "10.0.0.0/24", outInterface: "x".repeat(16) }, /^outInterface: .*16 bytes long/],
    [{ source: "10.0.0.0/24", netns: "-bad" }, /^netns: /],
  ];
  for (const [news, re] of cases) {
    const f = await failures(natRule, { ...news, owner: owner("bad") });
    assert.is(f.length, 1, JSON.stringify(news));
    assert.match(f[0]!, re);
  }
  assert.is((await failures(natRule, { source: "x", outInterface: "a/b", toSource: "::1", owner: owner("bad") })).length, 3, "every failure at once");
  assert.equal(await failures(natRule, { source: UNKNOWN, toSource: UNKNOWN, outInterface: UNKNOWN, notOutInterface: "eth1", owner: owner("bad") }), [], "unknown values are not validated");
  setCommandHook(undefined);
  assert.is(spawned, 0);
});

test("one create and one delete take (median of 21, host namespace)", async () => {
  const inputs = (i: number) => checked(natRule, { source: `10.${i}.0.0/16`, outInterface: "up0", owner: owner(`t${i}`) });
  const ids: { id: string; outs: never }[] = [];
  const create = await medianMs(21, async (i) => ids.push((await natRule.create(await inputs(i))) as never));
  const del = await medianMs(21, (i) => natRule.delete(ids[i]!.id, ids[i]!.outs));
  console.log(`    NatRule: create ${create.toFixed(1)} ms, delete ${del.toFixed(1)} ms`);
  assert.is(chain("nat", "NSLAB-POSTROUTING"), undefined);
});

test.run();
