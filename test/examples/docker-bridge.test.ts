import * as fs from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { changes, Example, expectLifecycle, pings, tcp, whileListening } from "../helpers/example";
import { clientsIn, httpGet } from "../helpers/http";

// examples/docker-bridge end to end on the kernel (a temp copy, through the built CLI): Docker's
// default bridge made of a Segment (gateway on the bridge, NAT) and its Attachments, one port
// published, served by a real web server in web (a Process). Containers reach each other and the lan; the lan sees only the host's address
// (MASQUERADE) and reaches the published port, as does the host itself; nothing else of the
// containers is reachable from the lan. Adding a container renumbers none of the others.

const test = suite("examples/docker-bridge");
const ex = new Example("docker-bridge");

type Outputs = Record<"lanNetns" | "hostAddress" | "lanAddress" | "bridge" | "gateway" | "webNetns" | "webAddress" | "webLog" | "appNetns" | "appAddress", string>;
let out: Outputs;

test("up makes the bridge, two containers, NAT and the published port", () => {
  const up = ex.run("up");
  assert.equal(changes(up), [
    "create app",
    "create docker0",
    "create docker0-app",
    "create docker0-app-address",
    "create docker0-app-route",
    "create docker0-app-veth",
    "create docker0-bridge",
    "create docker0-forwarding",
    "create docker0-gateway",
    "create docker0-nat",
    "create docker0-web",
    "create docker0-web-address",
    "create docker0-web-route",
    "create docker0-web-tcp8080",
    "create docker0-web-tcp8080-dnat",
    "create docker0-web-tcp8080-forwarding",
    "create docker0-web-veth",
    "create lan",
    "create lan-ip",
    "create uplink",
    "create uplink-ip",
    "create web",
    "create web-server",
  ]);
  out = up.outputs as Outputs;
  assert.match(out.bridge, /^docker0-br-[0-9a-f]{4}$/);
  assert.is(out.gateway, "10.78.0.1");
  for (const a of [out.webAddress, out.appAddress]) assert.match(a, /^10\.78\.0\.([2-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])$/);
  assert.is.not(out.webAddress, out.appAddress);
});

test("containers reach each other over the bridge, their gateway, and the lan", () => {
  assert.ok(pings(out.webNetns, out.appAddress), "web -> app");
  assert.ok(pings(out.appNetns, out.webAddress), "app -> web");
  assert.ok(pings(out.webNetns, "10.78.0.1"), "web -> gateway");
  assert.ok(pings(out.appNetns, out.lanAddress), "app -> lan");
});

test("the lan sees a container's connection coming from the host's address (MASQUERADE)", async () => {
  await whileListening([out.lanNetns], 9000, () => {
    assert.equal(tcp(out.webNetns, out.lanAddress, 9000), { server: out.lanNetns, peer: out.hostAddress });
    assert.equal(tcp(out.appNetns, out.lanAddress, 9000), { server: out.lanNetns, peer: out.hostAddress });
  });
});

test("the published port reaches web's server from the lan (with the lan's own address) and from the host itself", async () => {
  /** The page `from` gets at address:8080, and the client address web's server logged. */
  const fetched = async (from: string | undefined, address: string) => [await httpGet(from, `http://${address}:8080/`), clientsIn(fs.readFileSync(out.webLog, "utf8")).pop()];
  assert.equal(await fetched(out.lanNetns, out.hostAddress), ["hello from web\n", out.lanAddress]);
  assert.equal(await fetched(undefined, out.hostAddress), ["hello from web\n", out.hostAddress]);
  assert.equal(await fetched(undefined, out.gateway), ["hello from web\n", out.gateway]);
});

test("fails to reach the containers from the lan other than through the published port", async () => {
  await whileListening([out.appNetns], 80, () => {
    assert.not.ok(pings(out.lanNetns, out.webAddress), "the lan has no route to the containers");
    assert.is(tcp(out.lanNetns, out.webAddress, 80, 1), undefined);
    assert.is(tcp(out.lanNetns, out.hostAddress, 80, 1), undefined, "port 80 itself is not published");
  });
});

test("adding a container creates only it, keeps the others' addresses, and it reaches them; refresh, destroy and the kernel are clean", async () => {
  await expectLifecycle(ex, {
    code: `
const db = new nslab.Netns("db");
const dbContainer = docker0.attach("db", { netns: db });
export const dbNetns = db.name;
export const dbAddress = dbContainer.address;`,
    steps: ["create db", "create docker0-db", "create docker0-db-address", "create docker0-db-route", "create docker0-db-veth"],
    check: async (o) => {
      const now = o as Outputs & { dbNetns: string; dbAddress: string };
      assert.equal([now.webAddress, now.appAddress], [out.webAddress, out.appAddress], "no container was renumbered");
      assert.not.ok([out.webAddress, out.appAddress, out.gateway].includes(now.dbAddress));
      assert.ok(pings(now.dbNetns, out.webAddress), "db -> web");
      await whileListening([out.lanNetns], 9000, () => assert.equal(tcp(now.dbNetns, out.lanAddress, 9000), { server: out.lanNetns, peer: out.hostAddress }));
    },
  });
});

test.run();
