import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { changes, Example, expectLifecycle, tcp, whileListening } from "../helpers/example";
import { clientsIn, httpGet } from "../helpers/http";

// examples/port-forwarding end to end on the kernel (a temp copy, through the built CLI), on a
// host whose FORWARD policy is DROP (as with Docker; set here, the sandbox's host namespace is
// the test's own): port 8080 of each host address reaches port 80 of its own web namespace, from
// the outside namespace and from the host itself (real HTTP from the example's web servers, whose
// logs show who asked); other forwarded traffic stays dropped. Then a
// FirewallRule rejecting the outside's traffic to web-b is created alone and takes effect.

const test = suite("examples/port-forwarding");
const ex = new Example("port-forwarding");
const iptables = (...argv: string[]) => execFileSync("iptables", argv, { encoding: "utf8" });

interface Web {
  netns: string;
  address: string;
  published: string;
  log: string;
}

let outside = "";
let webA: Web;
let webB: Web;
/** The page `from` (undefined: the host) gets at hostAddress:8080, and the client address the server logged. */
async function fetched(from: string | undefined, hostAddress: string, web: Web): Promise<[string, string | undefined]> {
  const page = await httpGet(from, `http://${hostAddress}:8080/`);
  return [page, clientsIn(fs.readFileSync(web.log, "utf8")).pop()];
}
const refused = (from: string | undefined, hostAddress: string) => httpGet(from, `http://${hostAddress}:8080/`).then(() => false, () => true);

test.before(() => void iptables("-P", "FORWARD", "DROP"));
test.after(() => void iptables("-P", "FORWARD", "ACCEPT"));

test("up forwards port 8080 of each host address to its own namespace, from outside and from the host itself, through FORWARD policy DROP", async () => {
  const up = ex.run("up");
  assert.equal(changes(up), [
    "create forwarding", "create outside", "create outside-ip", "create uplink", "create uplink-a", "create uplink-b",
    "create web-a", "create web-a-default", "create web-a-gateway", "create web-a-http", "create web-a-ip", "create web-a-link", "create web-a-server",
    "create web-b", "create web-b-default", "create web-b-gateway", "create web-b-http", "create web-b-ip", "create web-b-link", "create web-b-server",
  ]);
  ({ outsideNetns: outside, webA, webB } = up.outputs as { outsideNetns: string; webA: Web; webB: Web });
  assert.is(up.outputs!.outsideAddress, "203.0.113.100/24");
  assert.equal([webA.address, webA.published, webB.address, webB.published], ["10.77.1.2", "203.0.113.1:8080", "10.77.2.2", "203.0.113.2:8080"]);
  assert.match(iptables("-S", "FORWARD"), /^-P FORWARD DROP\n/);
  assert.equal(await fetched(outside, "203.0.113.1", webA), ["hello from web-a\n", "203.0.113.100"], "outside -> first address: web-a");
  assert.equal(await fetched(outside, "203.0.113.2", webB), ["hello from web-b\n", "203.0.113.100"], "outside -> second address: web-b");
  assert.equal(await fetched(undefined, "203.0.113.1", webA), ["hello from web-a\n", "203.0.113.1"], "the host -> first address: web-a");
  assert.equal(await fetched(undefined, "203.0.113.2", webB), ["hello from web-b\n", "203.0.113.1"], "the host -> second address: web-b, from the primary address");
  await whileListening([outside], 80, () => {
    assert.is(tcp(webA.netns, "203.0.113.100", 80, 1), undefined, "traffic the forwards did not open is still dropped");
  });
});

test("a FirewallRule rejecting the outside's traffic to web-b is created alone: the outside loses web-b only, the host keeps it; refresh, destroy and the kernel are clean", async () => {
  await expectLifecycle(ex, {
    code: `new nslab.FirewallRule("no-outside-b", { action: "reject", source: "203.0.113.100", destination: "10.77.2.2", protocol: "tcp", destinationPort: 80 });`,
    steps: ["create no-outside-b"],
    check: async () => {
      assert.ok(await refused(outside, "203.0.113.2"), "outside -> web-b: rejected");
      assert.equal(await fetched(outside, "203.0.113.1", webA), ["hello from web-a\n", "203.0.113.100"], "outside -> web-a still");
      assert.equal(await fetched(undefined, "203.0.113.2", webB), ["hello from web-b\n", "203.0.113.1"], "the host's own traffic is not forwarded, so not filtered");
    },
  });
});

test.run();
