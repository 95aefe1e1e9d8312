import { execFileSync } from "node:child_process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { changes, Example, expectLifecycle, pings, tcp, whileListening } from "../helpers/example";

// examples/isolated-switch end to end on the kernel (a temp copy, through the built CLI): hosts
// on a bridge that lives in its own namespace with no address reach each other; the host
// namespace gains nothing and reaches none of them; a third host is created alone and joins.

const test = suite("examples/isolated-switch");
const ex = new Example("isolated-switch");

const ip = (...argv: string[]) => execFileSync("ip", argv, { encoding: "utf8" });
/** The host namespace's links, addresses and routes. */
const hostNetwork = () => [ip("-o", "link"), ip("-o", "addr"), ip("route", "show", "table", "all")].join("");
const before = hostNetwork();

interface Host {
  netns: string;
  address: string;
}

test("up makes the hosts reach each other through the switch, which has no address; the host namespace gains nothing and reaches no host", async () => {
  const up = ex.run("up");
  assert.equal(changes(up), ["create br", "create host-a", "create host-a-ip", "create host-b", "create host-b-ip", "create port-a", "create port-b", "create switch", "create switch-no-ipv6"]);
  const { switchNetns, hostA, hostB } = up.outputs as { switchNetns: string; hostA: Host; hostB: Host };
  assert.equal([hostA.address, hostB.address], ["10.1.0.11/24", "10.1.0.12/24"]);
  const ports = JSON.parse(ip("-n", switchNetns, "-j", "link", "show", "master", "br0")) as { ifname: string }[];
  assert.equal(ports.map((p) => p.ifname).sort(), ["port-a", "port-b"]);
  const addresses = (JSON.parse(ip("-n", switchNetns, "-j", "addr")) as { ifname: string; addr_info: { local: string }[] }[]).flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}`));
  assert.equal(addresses, ["lo 127.0.0.1"], "no address in the switch's namespace but lo's IPv4 one");
  assert.ok(pings(hostA.netns, "10.1.0.12"), "a -> b");
  assert.ok(pings(hostB.netns, "10.1.0.11"), "b -> a");
  await whileListening([hostB.netns], 8080, () => assert.equal(tcp(hostA.netns, "10.1.0.12", 8080), { server: hostB.netns, peer: "10.1.0.11" }));
  assert.is(hostNetwork(), before, "the host namespace's links, addresses and routes are as before up");
  assert.not.ok(pings(undefined, "10.1.0.11"), "the host has no route to the lab");
  assert.not.ok(pings(switchNetns, "10.1.0.11"), "nor has the switch's namespace");
});

test("a third host is created alone and reaches the others through the switch; refresh, destroy and the kernel are clean", async () => {
  await expectLifecycle(ex, {
    code: `export const hostC = host("c", "10.1.0.13/24");`,
    steps: ["create host-c", "create host-c-ip", "create port-c"],
    check: ({ hostA, hostC }) => {
      assert.ok(pings((hostC as Host).netns, "10.1.0.11"), "c -> a");
      assert.ok(pings((hostA as Host).netns, "10.1.0.13"), "a -> c");
      assert.is(hostNetwork(), before, "still nothing in the host namespace");
    },
  });
});

test.run();
