import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ownerHash } from "../../provider/lib/owner";
import { handleOf } from "../../provider/lib/tc";
import { trafficControl, type TrafficControlInputs } from "../../provider/resources/trafficControl";
import { addVethLab, checked, created, delVethLab, failures, owner, rejects, sh } from "../helpers/kernel";
import { transferRate } from "../helpers/transfer";

// Namespaces "a" (va, 10.0.0.1) and "b" (vb, 10.0.0.2) joined by a veth pair. Rates are measured
// with real TCP transfers; the tolerance is wide (a loaded 2-core machine sends slower, never
// faster): a shaped end sends at most ~the rate (20 % over allows for the bucket's burst), and a
// transfer at the rate takes a second or two.

const test = suite("TrafficControl");

test.before(addVethLab);
test.after(delVethLab);

interface Qdisc {
  kind: string;
  handle: string;
  root?: boolean;
  options?: { rate?: number; burst?: number };
  packets?: number;
}

/** The qdiscs of va in a, with their counters. */
const qdiscs = () => JSON.parse(sh("tc", "-n", "a", "-s", "-j", "qdisc", "show", "dev", "va")) as Qdisc[];
const rootKind = () => qdiscs().map((q) => `${q.kind} ${q.handle}`);
const input = (name: string, o: Partial<TrafficControlInputs>) => checked(trafficControl, { device: "va", netns: "a", owner: owner(name), ...o });
const MBIT = 1e6;

test("a rate shapes the egress of its end: a transfer a -> b takes the time the rate says, b -> a is not shaped; the rate changes in place", async () => {
  const inputs = await input("rate", { rate: "16mbit" });
  const { id, outs } = await created(trafficControl, inputs);
  const handle = handleOf(ownerHash(owner("rate")));
  assert.is(id, "tc:a/va");
  assert.is(outs.handle, handle);
  assert.equal(rootKind(), [`tbf ${handle}`]);
  assert.is(qdiscs()[0]!.options!.rate, 2_000_000, "16mbit is 2,000,000 bytes per second");

  const shaped = await transferRate("a", "b", "10.0.0.2", 2_000_000);
  const back = await transferRate("b", "a", "10.0.0.1", 2_000_000);
  console.log(`  16mbit: a -> b ${(shaped / MBIT).toFixed(1)} Mbit/s, b -> a (unshaped) ${(back / MBIT).toFixed(0)} Mbit/s`);
  assert.ok(shaped <= 16 * MBIT * 1.2 && shaped >= 16 * MBIT * 0.3, `a -> b at about 16 Mbit/s: ${shaped}`);
  assert.ok(back > 16 * MBIT * 3, `b -> a is not shaped: ${back}`);

  assert.equal(await trafficControl.read(id, outs), { id, props: outs });
  const news = { ...inputs, rate: "4mbit" };
  assert.equal((await trafficControl.diff(id, outs, news)).replaces, []);
  const packets = qdiscs()[0]!.packets!;
  const updated = (await trafficControl.update(id, outs, news)).outs!;
  assert.ok(qdiscs()[0]!.packets! >= packets && packets > 0, "the same qdisc, changed in place (its counters kept)");
  const slower = await transferRate("a", "b", "10.0.0.2", 750_000);
  console.log(`  4mbit: a -> b ${(slower / MBIT).toFixed(1)} Mbit/s`);
  assert.ok(slower <= 4 * MBIT * 1.2 && slower >= 4 * MBIT * 0.3, `a -> b at about 4 Mbit/s: ${slower}`);

  await trafficControl.delete(id, updated);
  assert.equal(rootKind(), ["noqueue 0:"], "the kernel's default again");
  assert.equal(await trafficControl.read(id, updated), {});
  await trafficControl.delete(id, updated);
});

test("delay or loss on this kernel (no sch_netem) fails the create naming the module, before anything changes", async () => {
  for (const o of [{ delay: "20ms" }, { loss: "1%" }, { rate: "8mbit", delay: "20ms", jitter: "5ms" }]) {
    await rejects(
      trafficControl.create(await input("netem", o)),
      /^TrafficControl "netem": create: this kernel has no netem qdisc: its module sch_netem is not built for this kernel or cannot be loaded \(load it with: modprobe sch_netem/,
      /delay, jitter, loss, duplicate, corrupt need it/,
      /\$ tc -n a qdisc add dev va root handle [0-9a-f]+: netem/,
      /Specified qdisc kind is unknown/,
    );
    assert.equal(rootKind(), ["noqueue 0:"], JSON.stringify(o));
  }
});

test("adding a delay to a rate fails the update naming the module, and the rate stays as it was", async () => {
  const inputs = await input("more", { rate: "8mbit" });
  const { id, outs } = await created(trafficControl, inputs);
  await rejects(trafficControl.update(id, outs, { ...inputs, delay: "20ms" }), /update: this kernel has no netem qdisc: its module sch_netem/);
  assert.equal(rootKind(), [`tbf ${outs.handle}`]);
  assert.is(qdiscs()[0]!.options!.rate, 1_000_000);
  await trafficControl.delete(id, outs);
});

test("drift: a rate changed by hand reads as the kernel's; a qdisc deleted by hand reads as gone; a retried create takes its own back", async () => {
  const inputs = await input("drift", { rate: "8mbit", burst: "32kb" });
  const { id, outs } = await created(trafficControl, inputs);
  sh("tc", "-n", "a", "qdisc", "change", "dev", "va", "root", "handle", outs.handle, "tbf", "rate", "2mbit", "burst", "32kb", "latency", "50ms");
  assert.is((await trafficControl.read(id, outs)).props!.rate, "2000000bit");
  assert.ok((await trafficControl.diff(id, { ...outs, rate: "2000000bit" }, inputs)).changes, "up changes it back");

  const again = await created(trafficControl, inputs);
  assert.is(qdiscs()[0]!.options!.rate, 1_000_000, "a retried create made it match");
  sh("tc", "-n", "a", "qdisc", "del", "dev", "va", "root");
  assert.equal(await trafficControl.read(id, again.outs), {});
  await trafficControl.delete(id, again.outs);
});

test("a foreign root qdisc is refused and left alone; adopt replaces it, and delete leaves the kernel's default", async () => {
  sh("tc", "-n", "a", "qdisc", "add", "dev", "va", "root", "handle", "1:", "htb");
  await rejects(
    trafficControl.create(await input("foreign", { rate: "8mbit" })),
    /"va" in namespace "a" already has a root qdisc htb \(handle 1:\) that nslab did not make .* Remove it with: tc -n a qdisc del dev va root, or set adopt: true/,
  );
  assert.equal(rootKind(), ["htb 1:"]);
  const { id, outs } = await created(trafficControl, await input("foreign", { rate: "8mbit", adopt: true }));
  assert.equal(rootKind(), [`tbf ${outs.handle}`]);
  // Someone else's root put back meanwhile is not deleted by ours.
  sh("tc", "-n", "a", "qdisc", "replace", "dev", "va", "root", "handle", "1:", "htb");
  await trafficControl.delete(id, outs);
  assert.equal(rootKind(), ["htb 1:"]);
  sh("tc", "-n", "a", "qdisc", "del", "dev", "va", "root");
});

test("a device that does not exist fails the create with what to do", async () => {
  await rejects(trafficControl.create(await input("nodev", { device: "nope", rate: "8mbit" })), /device "nope" does not exist in namespace "a"\. Pass the VethPair or Bridge resource itself as device/);
});

test("bad input: every failure at once, with the value and what is allowed", async () => {
  const base = { device: "va", netns: "a", owner: owner("bad") };
  assert.equal(await failures(trafficControl, base), [`rate: (unset) is not valid: set at least one of rate, delay, loss, duplicate, corrupt`]);
  assert.equal(await failures(trafficControl, { ...base, rate: "8 mbit", burst: "10", jitter: "5ms", loss: "101%", duplicate: "1", corrupt: "x%", limit: 0, delay: "20 ms" }), [
    `rate: "8 mbit" is not valid: use a number and one of tc's rate units: bit, kbit, mbit, gbit, tbit, bps, kbps, mbps, gbps, tbps (bit: bits, bps: bytes per second), e.g. "8mbit"`,
    `burst: "10" is not valid: use at least 1600 bytes: a burst smaller than one full packet passes nothing`,
    `delay: "20 ms" is not valid: use a number and one of s, ms, us, e.g. "20ms"`,
    `loss: "101%" is not valid: use a percentage from 0% to 100%, e.g. "1%" or "0.5%"`,
    `duplicate: "1" is not valid: use a percentage from 0% to 100%, e.g. "1%" or "0.5%"`,
    `corrupt: "x%" is not valid: use a percentage from 0% to 100%, e.g. "1%" or "0.5%"`,
    `limit: 0 is not valid: use an integer from 1 to 1000000 packets`,
  ]);
  assert.equal(await failures(trafficControl, { device: "eth0", owner: owner("bad"), rate: "1mbit" }), [
    `device: "eth0" is not valid: "eth0" in the host's namespace carries this machine's own traffic; nslab does not shape it`,
  ]);
});

test.run();
