import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { setCommandHook } from "../../provider/driver/exec";
import { sysctl, type SysctlInputs, type SysctlOutputs } from "../../provider/resources/sysctl";
import { checked, created, failures, owner, rejects, sh, UNKNOWN } from "../helpers/kernel";

// Sysctl against the sandbox's kernel: the test process's own namespace is the "host" one.
// Only net.* keys are used, because everything else under /proc/sys is the machine's own.

const test = suite("Sysctl");

const FORWARD = "/proc/sys/net/ipv4/ip_forward";
const TTL = "/proc/sys/net/ipv4/ip_default_ttl";

const proc = (file: string) => fs.readFileSync(file, "utf8").trim();
const inNetns = (ns: string, key: string) => sh("nsenter", `--net=/run/netns/${ns}`, "sysctl", "-n", key).trim();
const records = () => (fs.existsSync("/run/nslab/sysctl") ? fs.readdirSync("/run/nslab/sysctl") : []);
const record = (name: string) => JSON.parse(fs.readFileSync(`/run/nslab/sysctl/${encodeURIComponent(name)}`, "utf8"));

function hold(name: string, key: string, value: string | number, extra: Partial<SysctlInputs> = {}): Promise<SysctlInputs> {
  return checked(sysctl, { key, value, owner: owner(name), ...extra });
}

const up = (inputs: SysctlInputs) => created(sysctl, inputs);

test("create, read, update the value in place, delete restores the previous value, read is empty, delete again", async () => {
  const inputs = await hold("ttl", "net.ipv4.ip_default_ttl", 100);
  const { id, outs } = await up(inputs);
  assert.is(id, "sysctl:-/net.ipv4.ip_default_ttl");
  assert.equal(outs, { ...inputs, previous: "64" });
  assert.is(proc(TTL), "100");
  assert.equal(await sysctl.read(id, outs), { id, props: outs });

  assert.equal((await sysctl.diff(id, outs, { ...inputs, value: "100" })).changes, false, "1 and \"1\" are the same value");
  const news = { ...inputs, value: 101 };
  const diff = await sysctl.diff(id, outs, news);
  assert.equal([diff.changes, diff.replaces], [true, []]);
  const updated = (await sysctl.update(id, outs, news)).outs!;
  assert.equal(updated, { ...news, previous: "64" });
  assert.is(proc(TTL), "101");

  await sysctl.delete(id, updated);
  assert.is(proc(TTL), "64");
  assert.equal(records(), []);
  assert.equal(await sysctl.read(id, updated), {});
  await sysctl.delete(id, updated);
});

test("a change of key or namespace (or an unknown one) replaces, delete first", async () => {
  const olds = { key: "net.ipv4.ip_forward", value: 1, owner: owner("f"), previous: "0" };
  for (const [news, replaces] of [
    [{ ...olds, key: "net.ipv4.conf.all.forwarding" }, ["key"]],
    [{ ...olds, netns: "red" }, ["netns"]],
    [{ ...olds, netns: "red", netnsIdentity: "4a4a4a4a4a4a4a4a" }, ["netns", "netnsIdentity"]],
    [{ ...olds, key: UNKNOWN }, ["key"]],
  ] as const) {
    const d = await sysctl.diff("sysctl:-/net.ipv4.ip_forward", olds, news as SysctlInputs);
    assert.equal([d.replaces, d.deleteBeforeReplace], [replaces, true]);
  }
  assert.equal((await sysctl.diff("x", olds, { ...olds, value: " 1 " })).changes, false, "whitespace is normalised");
  assert.equal((await sysctl.diff("x", olds, { ...olds, value: UNKNOWN })).changes, true, "an unknown value may change");
});

test("two holders of the same value share the key; the second to leave restores it", async () => {
  const a = await up(await hold("a", "net.ipv4.ip_forward", 1));
  const b = await up(await hold("b", "net.ipv4.ip_forward", "1"));
  assert.is(b.outs.previous, "0", "previous is the value before the first holder");
  assert.equal(record("-/net.ipv4.ip_forward").holders.map((h: { name: string }) => h.name), [
    'Sysctl "a" of stack nslab-test/test',
    'Sysctl "b" of stack nslab-test/test',
  ]);
  await sysctl.delete(a.id, a.outs);
  assert.is(proc(FORWARD), "1", "the value stays while b holds it");
  assert.equal(await sysctl.read(a.id, a.outs), {}, "a no longer holds it");
  assert.equal((await sysctl.read(b.id, b.outs)).props, b.outs);
  await sysctl.delete(b.id, b.outs);
  assert.is(proc(FORWARD), "0");
  assert.equal(records(), []);
});

test("rejects a conflicting value at create, naming the holder; adopt takes the key over", async () => {
  const a = await up(await hold("a", "net.ipv4.ip_default_ttl", 100));
  const b = await hold("b", "net.ipv4.ip_default_ttl", 101);
  await rejects(
    sysctl.create(b),
    /^Sysctl "b": create: net\.ipv4\.ip_default_ttl in the host namespace is held at "100" by Sysctl "a" of stack nslab-test\/test; /,
    /Use value "100", remove the other holder\(s\) first, or set adopt: true/,
    /rm '\/run\/nslab\/sysctl\/-%2Fnet\.ipv4\.ip_default_ttl'/,
  );
  assert.is(proc(TTL), "100");
  await sysctl.delete("sysctl:-/net.ipv4.ip_default_ttl", { ...b, previous: "64" });
  assert.is(proc(TTL), "100", "a refused resource holds nothing, so its delete changes nothing");

  const taken = await up({ ...b, adopt: true });
  assert.equal([proc(TTL), taken.outs.previous], ["101", "64"]);
  assert.equal(await sysctl.read(a.id, a.outs), {}, "the holder of the other value was dropped");
  await sysctl.delete(a.id, a.outs);
  assert.is(proc(TTL), "101");
  await sysctl.delete(taken.id, taken.outs);
  assert.is(proc(TTL), "64");
});

test("fails to update the value in place while another resource holds the key", async () => {
  const a = await up(await hold("a", "net.ipv4.ip_forward", 1));
  const b = await up(await hold("b", "net.ipv4.ip_forward", 1));
  await rejects(
    sysctl.update(a.id, a.outs, { ...a.outs, value: 0 }),
    /^Sysctl "a": update: net\.ipv4\.ip_forward in the host namespace is also held at "1" by Sysctl "b" of stack nslab-test\/test; its value can change in place only while this resource is its only holder/,
  );
  assert.is(proc(FORWARD), "1");
  await sysctl.delete(b.id, b.outs);
  await sysctl.delete(a.id, a.outs);
  assert.is(proc(FORWARD), "0");
});

test("a value changed by hand shows in read, and the last delete leaves it alone without failing", async () => {
  const { id, outs } = await up(await hold("ttl", "net.ipv4.ip_default_ttl", 100));
  fs.writeFileSync(TTL, "77");
  assert.equal((await sysctl.read(id, outs)).props, { ...outs, value: "77" });
  await sysctl.delete(id, outs);
  assert.is(proc(TTL), "77");
  assert.equal(records(), []);
  fs.writeFileSync(TTL, "64");
});

test("multi-field values compare with whitespace normalised; a value the kernel stores differently is refused", async () => {
  const range = await up(await hold("range", "net.ipv4.ip_local_port_range", "32000   61000"));
  assert.is(range.outs.previous, "32768 60999");
  assert.is(proc("/proc/sys/net/ipv4/ip_local_port_range"), "32000\t61000");
  assert.equal((await sysctl.read(range.id, range.outs)).props!.value, "32000   61000", "no drift: the program's form is kept");
  await sysctl.delete(range.id, range.outs);
  assert.is(proc("/proc/sys/net/ipv4/ip_local_port_range"), "32768\t60999");

  await rejects(sysctl.create(await hold("octal", "net.ipv4.ip_default_ttl", "010")), /the kernel stores value "010" of net\.ipv4\.ip_default_ttl as "8"; write the value as the kernel prints it: value "8"/);
  assert.equal([proc(TTL), records()], ["64", []], "the kernel and the registry are as before");
  await rejects(sysctl.create(await hold("bad", "net.ipv4.ip_default_ttl", 0)), /writing "0" to \/proc\/sys\/net\/ipv4\/ip_default_ttl failed \(EINVAL/, /sysctl -w net\.ipv4\.ip_default_ttl=0/);
  assert.equal([proc(TTL), records()], ["64", []]);
});

test("interface keys use the slash form; read is empty and delete forgives once the interface is gone", async () => {
  sh("ip", "link", "add", "name", "v0.1", "type", "veth", "peer", "name", "v0p");
  const { id, outs } = await up(await hold("if", "net.ipv4.conf.v0/1.forwarding", 1));
  assert.is(proc("/proc/sys/net/ipv4/conf/v0.1/forwarding"), "1");
  sh("ip", "link", "del", "dev", "v0.1");
  assert.equal(await sysctl.read(id, outs), {});
  await sysctl.delete(id, outs);
  assert.equal(records(), []);
  await rejects(sysctl.create(await hold("if", "net.ipv4.conf.v0/1.forwarding", 1)), /there is no sysctl net\.ipv4\.conf\.v0\/1\.forwarding in the host namespace \(\/proc\/sys\/net\/ipv4\/conf\/v0\.1\/forwarding does not exist\)/);
});

test("rejects a key that names a directory of sysctls or a write-only trigger, changing nothing", async () => {
  sh("ip", "netns", "add", "lab");
  await rejects(sysctl.create(await hold("dir", "net.unix", 10)), /^Sysctl "dir": create: net\.unix is a directory of sysctls \(\/proc\/sys\/net\/unix\), not one sysctl; name one of its keys \(list them with: sysctl net\.unix\)$/);
  // In a namespace `sysctl net.unix` prints its only key, "net.unix.max_dgram_qlen = 10".
  await rejects(sysctl.create(await hold("dir", "net.unix", 10, { netns: "lab" })), /net\.unix is a directory of sysctls/);
  await rejects(sysctl.create(await hold("dir", "net.ipv4.route", 1, { netns: "lab" })), /net\.ipv4\.route is a directory of sysctls/);
  await rejects(sysctl.create(await hold("flush", "net.ipv4.route.flush", 1)), /^Sysctl "flush": create: net\.ipv4\.route\.flush cannot be read \(\/proc\/sys\/net\/ipv4\/route\/flush is write-only/);
  await rejects(sysctl.create(await hold("flush", "net.ipv4.route.flush", 1, { netns: "lab" })), /net\.ipv4\.route\.flush cannot be read/);
  assert.equal(records(), []);
  sh("ip", "netns", "del", "lab");
});

test("in a named namespace: sets only that namespace's value, restores it, and forgives a deleted namespace", async () => {
  sh("ip", "netns", "add", "lab");
  const st = fs.statSync("/run/netns/lab", { bigint: true });
  const inputs = await hold("fwd", "net.ipv4.ip_forward", 1, { netns: "lab", netnsIdentity: "1a1a1a1a1a1a1a1a" });
  const { id, outs } = await up(inputs);
  assert.equal([id, outs.previous], ["sysctl:lab/net.ipv4.ip_forward", "0"]);
  assert.equal([inNetns("lab", "net.ipv4.ip_forward"), proc(FORWARD)], ["1", "0"]);
  assert.is(record("lab/net.ipv4.ip_forward").identity, `${st.ino}@${st.ctimeNs}`);
  assert.equal((await sysctl.read(id, outs)).props, outs);
  await sysctl.delete(id, outs);
  assert.is(inNetns("lab", "net.ipv4.ip_forward"), "0");
  assert.equal(records(), []);

  sh("ip", "-n", "lab", "link", "add", "name", "v0.1", "type", "veth", "peer", "name", "v0p");
  const ifkey = await up(await hold("if", "net.ipv4.conf.v0/1.forwarding", 1, { netns: "lab" }));
  assert.is(inNetns("lab", "net.ipv4.conf.v0/1.forwarding"), "1");
  assert.equal((await sysctl.read(ifkey.id, ifkey.outs)).props, ifkey.outs);
  await sysctl.delete(ifkey.id, ifkey.outs);
  assert.is(inNetns("lab", "net.ipv4.conf.v0/1.forwarding"), "0");

  const again = await up(inputs);
  sh("ip", "netns", "del", "lab");
  assert.equal(await sysctl.read(again.id, again.outs), {});
  await sysctl.delete(again.id, again.outs);
  assert.equal(records(), [], "the record of a deleted namespace is removed");
  await rejects(sysctl.create(inputs), /namespace "lab" does not exist; create it first/);
});

test("a re-created namespace of the same name does not inherit the old namespace's holders", async () => {
  sh("ip", "netns", "add", "lab");
  const old = await up(await hold("old", "net.ipv4.ip_forward", 1, { netns: "lab" }));
  sh("ip", "netns", "del", "lab");
  sh("ip", "netns", "add", "lab");
  assert.equal(await sysctl.read(old.id, old.outs), {}, "the new namespace is not the one old holds");
  const fresh = await up(await hold("fresh", "net.ipv4.ip_forward", 1, { netns: "lab" }));
  assert.equal([fresh.outs.previous, inNetns("lab", "net.ipv4.ip_forward")], ["0", "1"], "no conflict with the stale record, and a fresh original");
  await sysctl.delete(old.id, old.outs);
  assert.is(inNetns("lab", "net.ipv4.ip_forward"), "1", "old's delete leaves the new namespace's holder alone");
  await sysctl.delete(fresh.id, fresh.outs);
  assert.is(inNetns("lab", "net.ipv4.ip_forward"), "0");
  assert.equal(records(), []);
  sh("ip", "netns", "del", "lab");
});

test("create after a failure at each command converges, and so does delete", async () => {
  sh("ip", "netns", "add", "lab");
  const inputs = await hold("crash", "net.ipv4.ip_forward", 1, { netns: "lab" });
  // Commands of a create: [0] sysctl KEY (current), [1] sysctl -q KEY=VALUE KEY (write, read back).
  for (const step of [0, 1]) {
    setCommandHook((_argv, index) => {
      if (index === step) throw new Error(`injected failure at command ${step}`);
    });
    await rejects(sysctl.create(inputs), new RegExp(`^Sysctl "crash": create: injected failure at command ${step}`));
    setCommandHook(undefined);
    assert.equal([inNetns("lab", "net.ipv4.ip_forward"), records()], ["0", []], "nothing changed, nothing recorded");
    const { id, outs } = await up(inputs);
    assert.equal([outs.previous, inNetns("lab", "net.ipv4.ip_forward")], ["0", "1"], `after a failure at command ${step}`);
    // Commands of the last delete: [0] sysctl KEY (current), [1] the restoring write.
    setCommandHook((_argv, index) => {
      if (index === 1) throw new Error("injected failure in delete");
    });
    await rejects(sysctl.delete(id, outs), /^Sysctl "crash": delete: injected failure in delete/);
    setCommandHook(undefined);
    assert.is(record("lab/net.ipv4.ip_forward").holders.length, 1, "still a holder");
    await sysctl.delete(id, outs);
    assert.equal([inNetns("lab", "net.ipv4.ip_forward"), records()], ["0", []]);
  }
  sh("ip", "netns", "del", "lab");
});

test("a provider killed right after its write converges on the next create, and a delete killed after restoring on the next delete", async () => {
  sh("ip", "netns", "add", "lab");
  const inputs = await hold("killed", "net.ipv4.ip_forward", 1, { netns: "lab" });
  // A provider process that runs the write itself, then dies before anything else happens (kill -9).
  const killedAt = (op: string, write: string) => `
    const { execFileSync } = require("node:child_process");
    require("./provider/driver/exec").setCommandHook((argv) => {
      if (argv.some((a) => a.startsWith(${JSON.stringify(write)}))) { execFileSync(argv[0], argv.slice(1)); process.exit(137); }
    });
    const { sysctl } = require("./provider/resources/sysctl");
    const inputs = ${JSON.stringify(inputs)};
    sysctl.${op};`;
  const root = path.resolve(__dirname, "../..");
  const killed = async (script: string) => {
    const err = await promisify(execFile)(process.execPath, ["--import", "tsx", "-e", script], { cwd: root }).then(() => undefined, (e: { code: number }) => e);
    assert.is(err?.code, 137, "the provider died in the hook");
  };

  await killed(killedAt("create(inputs)", "net.ipv4.ip_forward=1"));
  assert.equal([inNetns("lab", "net.ipv4.ip_forward"), record("lab/net.ipv4.ip_forward").original], ["1", "0"], "written, and the original recorded first");
  const { id, outs } = await up(inputs);
  assert.is(outs.previous, "0", "the retry finds itself a holder and keeps the original");

  await killed(killedAt(`delete(${JSON.stringify(id)}, ${JSON.stringify(outs)})`, "net.ipv4.ip_forward=0"));
  assert.equal([inNetns("lab", "net.ipv4.ip_forward"), record("lab/net.ipv4.ip_forward").holders.length], ["0", 1], "restored, the record not yet removed");
  await sysctl.delete(id, outs);
  assert.equal([inNetns("lab", "net.ipv4.ip_forward"), records()], ["0", []]);
  sh("ip", "netns", "del", "lab");
});

test("rejects bad input in check with one reason per property, all at once, spawning nothing", async () => {
  let spawned = 0;
  setCommandHook(() => void spawned++);
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ key: "" }, "key", /key: "" is not valid: it is required/],
    [{ key: "net" }, "key", /use a dotted path such as "net\.ipv4\.ip_forward", with no empty segment/],
    [{ key: "net..ipv4" }, "key", /no empty segment/],
    [{ key: ".net.ipv4" }, "key", /no empty segment/],
    [{ key: "net.ipv4." }, "key", /no empty segment/],
    [{ key: "../../etc/passwd" }, "key", /no empty segment/],
    [{ key: "net/ipv4/ip_forward" }, "key", /write it dotted, as sysctl\(8\) does: "net\.ipv4\.ip_forward"/],
    [{ key: "net.ipv4/ip_forward" }, "key", /"\/" is allowed only in the interface segment/],
    [{ key: "net.ipv4.ip forward" }, "key", /segment "ip forward" may contain only A-Z a-z 0-9 _ -/],
    [{ key: "net.ipv4.-x" }, "key", /segment "-x"/],
    [{ key: "net.ipv4.conf.eth0.100.forwarding" }, "key", /per-interface keys have the form net\.ipv4\.conf\.<interface>\.<name>; write a "\." inside an interface name as "\/"/],
    [{ key: "net.ipv4.conf.a:b.forwarding" }, "key", /interface name "a:b" is not valid/],
    [{ key: "net.ipv4.conf.averyverylongname.forwarding" }, "key", /interface name "averyverylongname" is not valid: it is 17 bytes long/],
    [{ key: "net.ipv6.neigh./x.mcast_solicit" }, "key", /interface name "\.x" is not valid/],
    [{ key: 42 }, "key", /use a string/],
    [{ key: "n." + "x".repeat(300) }, "key", /use at most 255 bytes/],
    [{ key: "kernel.hostname", netns: "lab" }, "key", /inside a namespace only per-namespace keys \(net\.\*\) can be set; "kernel\.hostname" is host-wide/],
    [{ value: "" }, "value", /it is required/],
    [{ value: "   " }, "value", /it is blank/],
    [{ value: "1\n2" }, "value", /newline or control character/],
    [{ value: "1\x002" }, "value", /newline or control character/],
    [{ value: 1.5 }, "value", /it is not an integer/],
    [{ value: true }, "value", /use a string or an integer/],
    [{ netns: "a/b" }, "netns", /netns: "a\/b" is not valid: use 1-255 characters/],
    [{ adopt: "yes" }, "adopt", /use true or false/],
  ];
  for (const [bad, property, reason] of cases) {
    const f = await failures(sysctl, { key: "net.ipv4.ip_forward", value: 1, owner: owner("lab"), ...bad });
    assert.is(f.length, 1, JSON.stringify(bad));
    assert.match(f[0]!, new RegExp(`^${property}: `));
    assert.match(f[0]!, reason);
  }
  const all = await failures(sysctl, { key: "a b", value: "x\ny", netns: "-n", owner: owner("lab") });
  assert.equal(all.map((f) => f.split(":")[0]), ["key", "value", "netns"]);
  for (const ok of ["net.ipv4.conf.all.forwarding", "net.ipv4.conf.eth0/100.forwarding", "net.bridge.bridge-nf-call-iptables", "kernel.hostname"]) {
    assert.equal(await failures(sysctl, { key: ok, value: "1", owner: owner("lab") }), [], ok);
  }
  assert.equal(await failures(sysctl, { key: UNKNOWN, value: UNKNOWN, netns: UNKNOWN, owner: owner("lab") }), [], "unknown values are not validated");
  assert.match((await failures(sysctl, { key: "kernel.hostname", value: 1, netns: UNKNOWN, owner: owner("lab") })).join(), /only per-namespace keys/, "an unknown netns is still a namespace");
  setCommandHook(undefined);
  assert.is(spawned, 0);
});

test("20 parallel creates of one key and value by 20 owners all succeed, and the last delete restores", async () => {
  sh("ip", "netns", "add", "lab");
  const all = await Promise.all(Array.from({ length: 20 }, async (_, i) => up(await hold(`p${i}`, "net.ipv4.ip_forward", 1, { netns: "lab" }))));
  assert.equal(new Set(all.map((r) => r.outs.previous)), new Set(["0"]));
  assert.is(record("lab/net.ipv4.ip_forward").holders.length, 20);
  await Promise.all(all.slice(1).map((r) => sysctl.delete(r.id, r.outs)));
  assert.equal([inNetns("lab", "net.ipv4.ip_forward"), record("lab/net.ipv4.ip_forward").holders.length], ["1", 1]);
  await sysctl.delete(all[0]!.id, all[0]!.outs);
  assert.equal([inNetns("lab", "net.ipv4.ip_forward"), records()], ["0", []]);
  sh("ip", "netns", "del", "lab");
});

test("20 creates from 4 provider processes at once (two stacks' hosts) all succeed, and the last delete restores", async () => {
  sh("ip", "netns", "add", "lab");
  // Each process creates 5 holders in parallel and prints their outputs.
  const child = (p: number) => `
    const { sysctl } = require("./provider/resources/sysctl");
    Promise.all([0, 1, 2, 3, 4].map((i) => sysctl.create({ key: "net.ipv4.ip_forward", value: 1, netns: "lab", owner: { project: "nslab-test", stack: "s${p}", path: ["p" + i] } })))
      .then((rs) => console.log(JSON.stringify(rs)));`;
  const root = path.resolve(__dirname, "../..");
  const outputs = await Promise.all([0, 1, 2, 3].map((p) => promisify(execFile)(process.execPath, ["--import", "tsx", "-e", child(p)], { cwd: root })));
  const all = outputs.flatMap((o) => JSON.parse(o.stdout) as { id: string; outs: SysctlOutputs }[]);
  assert.equal([all.length, new Set(all.map((r) => r.outs.previous))], [20, new Set(["0"])]);
  assert.is(record("lab/net.ipv4.ip_forward").holders.length, 20);
  await Promise.all(all.slice(1).map((r) => sysctl.delete(r.id, r.outs)));
  assert.equal([inNetns("lab", "net.ipv4.ip_forward"), record("lab/net.ipv4.ip_forward").holders.length], ["1", 1]);
  await sysctl.delete(all[0]!.id, all[0]!.outs);
  assert.equal([inNetns("lab", "net.ipv4.ip_forward"), records()], ["0", []]);
  sh("ip", "netns", "del", "lab");
});

test("restoring a forwarding switch puts back the per-interface values the kernel overwrote with it", async () => {
  sh("ip", "netns", "add", "fw");
  sh("ip", "-n", "fw", "link", "add", "name", "f0", "type", "veth", "peer", "name", "f1");
  sh("nsenter", "--net=/run/netns/fw", "sysctl", "-q", "-w", "net.ipv4.conf.f0.forwarding=1");
  const { id, outs } = await up(await hold("fw", "net.ipv4.ip_forward", 1, { netns: "fw" }));
  assert.equal([inNetns("fw", "net.ipv4.conf.f1.forwarding"), inNetns("fw", "net.ipv4.conf.default.forwarding")], ["1", "1"], "the kernel copies the switch");
  await sysctl.delete(id, outs);
  assert.equal(
    ["ip_forward", "f0", "f1", "default"].map((k) => inNetns("fw", k === "ip_forward" ? "net.ipv4.ip_forward" : `net.ipv4.conf.${k}.forwarding`)),
    ["0", "1", "0", "0"],
  );
  sh("ip", "netns", "del", "fw");
});

test.run();
