import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { changes, nslab, pings, summary, tcp, whileListening } from "../helpers/example";
import { kernelSnapshot } from "../helpers/snapshot";

// The components' paths the examples leave out, end to end on the kernel through the built CLI
// (fixtures/components): a Router in the host's own namespace with an allow policy, and an IPv6
// Segment whose bridge is inside a namespace.

const test = suite("components on the kernel");
const FIXTURE = path.join(__dirname, "fixtures/components");
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-components-"));
const pristine = kernelSnapshot();
test.after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

type Outputs = Record<"l1Netns" | "l1Address" | "r1Netns" | "r1Address" | "switchNetns" | "a6Netns" | "a6Address" | "b6Address", string>;
let out: Outputs;

test("up makes the lab; a second preview changes nothing", () => {
  const up = nslab("up", FIXTURE, stateDir);
  out = up.outputs as Outputs;
  assert.is(up.changeSummary.create, 34, changes(up).join("\n"));
  assert.equal(changes(nslab("preview", FIXTURE, stateDir)), []);
});

test("a router in the host forwards what its policy allows between the segments, and nothing else", async () => {
  assert.is(fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8"), "1\n", "the host forwards");
  assert.ok(pings(out.l1Netns, out.r1Address), "left -> right: ICMP is allowed");
  assert.not.ok(pings(out.r1Netns, out.l1Address), "right -> left: not allowed");
  await whileListening([out.r1Netns], 80, () => assert.is(tcp(out.l1Netns, out.r1Address, 80), undefined, "left -> right tcp/80: not allowed"));
});

test("an IPv6 segment switches inside its own namespace: the hosts reach each other, the host namespace sees no bridge", () => {
  assert.ok(out.a6Address.startsWith("fd00:91::"), out.a6Address);
  assert.ok(pings(out.a6Netns, out.b6Address), "a6 -> b6 over IPv6");
  const hostLinks = execFileSync("ip", ["-br", "link"], { encoding: "utf8" });
  const bridges = execFileSync("ip", ["-n", out.switchNetns, "-br", "link", "show", "type", "bridge"], { encoding: "utf8" });
  assert.is(bridges.trim().split("\n").length, 1, bridges);
  assert.not.ok(hostLinks.includes(bridges.split(/\s/)[0]!), "the bridge is not in the host namespace");
});

test("refresh finds nothing; destroy deletes all and leaves the kernel as it was", () => {
  assert.equal(changes(nslab("refresh", FIXTURE, stateDir)), []);
  assert.equal(nslab("destroy", FIXTURE, stateDir).changeSummary, summary(0, 0, 0, 0, 34));
  assert.fixture(kernelSnapshot(), pristine);
});

test.run();
