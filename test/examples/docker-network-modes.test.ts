import { execFileSync } from "node:child_process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { changes, Example, expectLifecycle, pings, tcp, whileListening } from "../helpers/example";
import { serve } from "../helpers/netfilterLab";

// examples/docker-network-modes end to end on the kernel (a temp copy, through the built CLI):
// the default bridge and a user-defined one (two Segments with NAT) isolated from each other by
// FirewallRules, container mode (two processes in one namespace over 127.0.0.1) and none
// (loopback only). Connecting the default network's container to the user-defined one as well
// (`docker network connect`) lets it reach that network's containers.

const test = suite("examples/docker-network-modes");
const ex = new Example("docker-network-modes");

type Outputs = Record<"soloNetns" | "soloAddress" | "apiNetns" | "apiAddress" | "dbNetns" | "dbAddress" | "noneNetns", string>;
let out: Outputs;

test("up makes both networks, their containers, the isolation rules and the loopback-only namespace", () => {
  const up = ex.run("up");
  assert.equal(changes(up), [
    "create api",
    "create db",
    "create docker0",
    "create docker0-bridge",
    "create docker0-forwarding",
    "create docker0-gateway",
    "create docker0-nat",
    "create docker0-solo",
    "create docker0-solo-address",
    "create docker0-solo-route",
    "create docker0-solo-veth",
    "create isolate-docker0-mynet",
    "create isolate-mynet-docker0",
    "create mynet",
    "create mynet-api",
    "create mynet-api-address",
    "create mynet-api-route",
    "create mynet-api-veth",
    "create mynet-bridge",
    "create mynet-db",
    "create mynet-db-address",
    "create mynet-db-route",
    "create mynet-db-veth",
    "create mynet-forwarding",
    "create mynet-gateway",
    "create mynet-nat",
    "create none",
    "create solo",
  ]);
  out = up.outputs as Outputs;
  assert.match(out.soloAddress, /^10\.79\.0\.\d+$/);
  assert.match(out.apiAddress, /^10\.79\.1\.\d+$/);
  assert.match(out.dbAddress, /^10\.79\.1\.\d+$/);
});

test("containers of one network reach each other and their gateway", async () => {
  assert.ok(pings(out.soloNetns, "10.79.0.1"), "solo -> docker0's gateway");
  assert.ok(pings(out.apiNetns, out.dbAddress), "api -> db");
  await whileListening([out.dbNetns], 5432, () => assert.equal(tcp(out.apiNetns, out.dbAddress, 5432), { server: out.dbNetns, peer: out.apiAddress }));
});

test("fails to cross between the two networks, either way (DOCKER-ISOLATION)", async () => {
  assert.not.ok(pings(out.soloNetns, out.apiAddress), "solo -> api");
  assert.not.ok(pings(out.apiNetns, out.soloAddress), "api -> solo");
  await whileListening([out.apiNetns], 80, () => assert.is(tcp(out.soloNetns, out.apiAddress, 80, 1), undefined));
});

test("container mode: a second process in api's namespace talks to api's loopback-only server; db cannot reach it", async () => {
  const server = await serve(out.apiNetns, "127.0.0.1", 6000, "api-sidecar");
  try {
    assert.equal(tcp(out.apiNetns, "127.0.0.1", 6000), { server: "api-sidecar", peer: "127.0.0.1" });
    assert.is(tcp(out.dbNetns, out.apiAddress, 6000, 1), undefined);
  } finally {
    await server.stop();
  }
});

test("none: the namespace has loopback and nothing else", () => {
  const links = JSON.parse(execFileSync("ip", ["-n", out.noneNetns, "-j", "link", "show"], { encoding: "utf8" })) as { ifname: string }[];
  assert.equal(links.map((l) => l.ifname), ["lo"]);
  assert.ok(pings(out.noneNetns, "127.0.0.1"), "loopback is up");
  assert.not.ok(pings(out.noneNetns, "10.79.1.1"), "no route anywhere else");
});

test("connecting solo to mynet as well creates its attachment alone and lets it reach mynet's containers; refresh, destroy and the kernel are clean", async () => {
  await expectLifecycle(ex, {
    code: `
// docker network connect mynet solo
const soloOnMynet = mynet.attach("solo", { netns: solo, ifname: "eth1", defaultRoute: false });
export const soloMynetAddress = soloOnMynet.address;`,
    steps: ["create mynet-solo", "create mynet-solo-address", "create mynet-solo-veth"],
    check: (o) => {
      const soloMynetAddress = o.soloMynetAddress as string;
      assert.match(soloMynetAddress, /^10\.79\.1\.\d+$/);
      assert.not.ok([out.apiAddress, out.dbAddress].includes(soloMynetAddress));
      assert.ok(pings(out.soloNetns, out.apiAddress), "solo -> api, over its new interface");
      assert.ok(pings(out.dbNetns, soloMynetAddress), "db -> solo's mynet address");
      assert.not.ok(pings(out.dbNetns, out.soloAddress), "db -> solo's docker0 address is still isolated");
    },
  });
});

test.run();
