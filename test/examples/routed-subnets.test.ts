import { suite } from "uvu";
import * as assert from "uvu/assert";
import { changes, Example, expectLifecycle, pings, tcp, whileListening } from "../helpers/example";

// examples/routed-subnets end to end on the kernel (a temp copy, through the built CLI): two
// Segments whose gateways a Router holds, with a filter policy allowing tcp/80 from subnet A to
// the server in B and dropping everything else between them. Adding a FirewallRule of one's own
// to the router's namespace (between the allows and the drops) lets ping through too.

const test = suite("examples/routed-subnets");
const ex = new Example("routed-subnets");

type Outputs = Record<"routerNetns" | "clientNetns" | "clientAddress" | "serverNetns" | "serverAddress", string>;
let out: Outputs;

test("up makes two segments, a host on each and the router joining them with its policy", () => {
  const up = ex.run("up");
  assert.equal(changes(up), [
    "create a",
    "create a-bridge",
    "create a-client",
    "create a-client-address",
    "create a-client-route",
    "create a-client-veth",
    "create b",
    "create b-bridge",
    "create b-server",
    "create b-server-address",
    "create b-server-route",
    "create b-server-veth",
    "create client",
    "create router",
    "create router-a-address",
    "create router-a-leg",
    "create router-allow-0",
    "create router-b-address",
    "create router-b-leg",
    "create router-drop-a-b",
    "create router-drop-b-a",
    "create router-forwarding",
    "create router-netns",
    "create server",
  ]);
  out = up.outputs as Outputs;
  assert.match(out.routerNetns, /^router-netns-[0-9a-f]{4}$/);
  assert.match(out.clientAddress, /^10\.81\.1\.\d+$/);
  assert.match(out.serverAddress, /^10\.81\.2\.\d+$/);
});

test("each host reaches its gateway on the router; a client opens tcp/80 on the server, which sees the client's own address", async () => {
  assert.ok(pings(out.clientNetns, "10.81.1.1"), "client -> its gateway");
  assert.ok(pings(out.serverNetns, "10.81.2.1"), "server -> its gateway");
  await whileListening([out.serverNetns], 80, () => {
    assert.equal(tcp(out.clientNetns, out.serverAddress, 80), { server: out.serverNetns, peer: out.clientAddress });
  });
});

test("fails to cross the router with anything else: ping either way, another port, tcp/80 from B to A", async () => {
  assert.not.ok(pings(out.clientNetns, out.serverAddress), "client -> server ping is dropped");
  assert.not.ok(pings(out.serverNetns, out.clientAddress), "server -> client ping is dropped");
  await whileListening([out.serverNetns], 8080, () => assert.is(tcp(out.clientNetns, out.serverAddress, 8080, 1), undefined));
  await whileListening([out.clientNetns], 80, () => assert.is(tcp(out.serverNetns, out.clientAddress, 80, 1), undefined));
});

test("a FirewallRule added between the allows and the drops lets ping from A to B through, and only that way; refresh, destroy and the kernel are clean", async () => {
  await expectLifecycle(ex, {
    code: `
new nslab.FirewallRule("allow-ping", { action: "accept", protocol: "icmp", source: a.subnet, destination: b.subnet, priority: 1500, netns: router.netnsResource! });`,
    steps: ["create allow-ping"],
    check: () => {
      assert.ok(pings(out.clientNetns, out.serverAddress), "client -> server ping now passes");
      assert.not.ok(pings(out.serverNetns, out.clientAddress), "server -> client ping is still dropped");
    },
  });
});

test.run();
