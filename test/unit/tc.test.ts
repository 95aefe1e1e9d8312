import { suite } from "uvu";
import * as assert from "uvu/assert";
import { defaultBurst, handleOf, layoutOf, qdiscArgv, qdiscsOf, rateBits, rateProblem, sizeProblem } from "../../provider/lib/tc";

// The qdiscs and argv of a shaping (lib/tc.ts), netem's among them: this kernel has no netem, so
// its argv is pinned here, and the kernel test pins the failure.

const test = suite("tc");
const HASH = "0a1b2c3d4e5f";
const argvs = (s: Parameters<typeof qdiscsOf>[0]) => qdiscsOf(s, HASH).map((q) => qdiscArgv("lab", "eth0", "add", q).join(" "));

test("the handle is a major number from the owner hash, never 0 or ffff; the child's differs", () => {
  assert.is(handleOf(HASH), "a1c:");
  assert.is(handleOf("ffff00000000"), "2:");
  assert.is(handleOf("fffe00000000"), "1:");
  assert.is(handleOf("fffd00000000"), "fffe:");
  assert.is(handleOf("fffd00000000", true), "1:");
  assert.is(handleOf(HASH, true), "a1d:");
});

test("a rate alone is a root tbf, with its default burst and a 50 ms queue, or a queue of `limit` frames", () => {
  assert.equal(argvs({ rate: "8mbit" }), ["tc -n lab qdisc add dev eth0 root handle a1c: tbf rate 8mbit burst 16384b latency 50ms"]);
  assert.equal(argvs({ rate: "1gbit", burst: "64kb", limit: 100 }), ["tc -n lab qdisc add dev eth0 root handle a1c: tbf rate 1gbit burst 64kb limit 151400"]);
  assert.is(defaultBurst("1gbit"), "1250000b", "10 ms at 1 Gbit/s");
});

test("delay, jitter, loss, duplicate, corrupt and limit are one root netem; with a rate, the tbf is its child", () => {
  assert.equal(argvs({ delay: "20ms", jitter: "5ms", loss: "1%", duplicate: "0.5%", corrupt: "0.1%", limit: 500 }), [
    "tc -n lab qdisc add dev eth0 root handle a1c: netem limit 500 delay 20ms 5ms loss 1% duplicate 0.5% corrupt 0.1%",
  ]);
  assert.equal(argvs({ loss: "2%" }), ["tc -n lab qdisc add dev eth0 root handle a1c: netem loss 2%"]);
  assert.equal(argvs({ rate: "8mbit", delay: "20ms" }), [
    "tc -n lab qdisc add dev eth0 root handle a1c: netem delay 20ms",
    "tc -n lab qdisc add dev eth0 parent a1c:1 handle a1d: tbf rate 8mbit burst 16384b latency 50ms",
  ]);
  assert.is(qdiscArgv(undefined, "br0", "change", qdiscsOf({ delay: "1ms" }, HASH)[0]!).join(" "), "tc qdisc change dev br0 root handle a1c: netem delay 1ms");
});

test("the layout tells an in-place change from a re-creation", () => {
  const layout = (s: Parameters<typeof qdiscsOf>[0]) => layoutOf(qdiscsOf(s, HASH));
  assert.is(layout({ rate: "8mbit" }), layout({ rate: "1gbit", burst: "1mb" }));
  assert.is(layout({ delay: "1ms" }), layout({ loss: "1%", limit: 10 }));
  assert.is.not(layout({ rate: "8mbit" }), layout({ rate: "8mbit", delay: "1ms" }));
});

test("tc's units: rates in bits or bytes per second, sizes", () => {
  assert.is(rateBits("8mbit"), 8e6);
  assert.is(rateBits("1.5gbit"), 1.5e9);
  assert.is(rateBits("100kbps"), 800e3);
  for (const bad of ["8", "8 mbit", "8Mbit", "mbit", "-1mbit"]) assert.ok(rateProblem(bad), bad);
  assert.is(rateProblem("1bit"), "use at least 8bit (one byte per second)");
  assert.is(sizeProblem("32kb"), undefined);
  assert.is(sizeProblem("2000"), undefined);
  assert.ok(sizeProblem("1kb"));
});

test.run();
