import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import { changes, Example, expectLifecycle, graph, pings, tcp, whileListening } from "../helpers/example";
import { clientsIn, httpGet } from "../helpers/http";
import { sh } from "../helpers/kernel";

// examples/home-router end to end on the kernel (a temp copy, through the built CLI): a Router with
// an uplink into an "isp" namespace, NAT out, one published port and a filter between its two LAN
// segments. Every path is tried with real traffic, allowed and refused: the outside reaches the
// server only through the published port; the LANs reach the isp as the router's WAN address; the
// isp reaches nothing else (not the router, not a LAN host directly even with a route to it);
// LAN A reaches LAN B on tcp/22 only; LAN B reaches LAN A with nothing but replies.

const test = suite("examples/home-router");
const ex = new Example("home-router");

const WAN = "203.0.113.2";
const ISP = "203.0.113.1";
type Host = { netns: string; address: string };
let router: string;
let isp: string;
let h: Record<"server" | "laptop" | "nas" | "printer", Host>;
let webLog: string;

const PAGE = "hello from the server\n";
/** The page of the web server (a Process on port 80 of the server) through `url` from `netns`, and the client its log shows. */
async function served(netns: string, url: string): Promise<[string, string | undefined]> {
  const page = await httpGet(netns, url);
  return [page, clientsIn(fs.readFileSync(webLog, "utf8")).pop()];
}
/** Whether a GET of `url` from `netns` fails (dropped: after urllib's 5 s timeout; rejected: at once). */
const refused = (netns: string, url: string) => httpGet(netns, url).then(() => false, () => true);

test("up makes the isp, the router with its uplink, NAT, published port and policy, and two LANs of two hosts", () => {
  const up = ex.run("up");
  const made = changes(up);
  for (const step of [
    "create home-uplink",
    "create home-uplink-address",
    "create home-uplink-peer-address",
    "create home-default",
    "create home-nat-lan-a",
    "create home-nat-lan-b",
    "create home-publish-tcp8080",
    "create home-allow-0",
    "create home-drop-lan-a-lan-b",
    "create home-drop-lan-b-lan-a",
    "create home-inbound-forward",
    "create home-inbound-input",
    "create isp",
    "create web",
  ]) {
    assert.ok(made.includes(step), `${step} in ${made.join(", ")}`);
  }
  const out = up.outputs as { routerNetns: string; ispNetns: string; hosts: typeof h; webLog: string };
  [router, isp, h, webLog] = [out.routerNetns, out.ispNetns, out.hosts, out.webLog];
  assert.is(made.length, 45, "4 hosts of 5 resources, the web server, 2 segments of 2, the isp, the router and its 18 children");
  assert.match(h.server.address, /^192\.168\.10\.\d+$/);
  assert.match(h.nas.address, /^192\.168\.20\.\d+$/);
});

test("the outside reaches the web server only through the published port, and the server sees the isp's own address", async () => {
  assert.equal(await served(isp, `http://${WAN}:8080/`), [PAGE, ISP], "isp -> WAN:8080 -> server:80");
  // A route the isp should never have: even with it, the LAN is closed.
  sh("ip", "-n", isp, "route", "add", "192.168.0.0/16", "via", WAN);
  try {
    assert.ok(await refused(isp, `http://${h.server.address}/`), "the server's own address and port are closed: only what was forwarded gets in");
  } finally {
    sh("ip", "-n", isp, "route", "del", "192.168.0.0/16", "via", WAN);
  }
  await whileListening([h.server.netns, router], 8081, () => assert.is(tcp(isp, WAN, 8081, 1), undefined, "an unpublished port of the WAN address"));
});

test("the isp reaches nothing else: not the router (ping, a listening port), not a LAN host even with a route to it", async () => {
  assert.not.ok(pings(isp, WAN), "isp -> router ping");
  await whileListening([router], 22, () => assert.is(tcp(isp, WAN, 22, 1), undefined, "isp -> router tcp/22"));
  sh("ip", "-n", isp, "route", "add", "192.168.0.0/16", "via", WAN);
  try {
    assert.not.ok(pings(isp, h.laptop.address), "isp -> laptop ping");
    await whileListening([h.nas.netns], 22, () => assert.is(tcp(isp, h.nas.address, 22, 1), undefined, "isp -> nas tcp/22"));
  } finally {
    sh("ip", "-n", isp, "route", "del", "192.168.0.0/16", "via", WAN);
  }
});

test("every LAN host reaches the isp, seen as the router's WAN address; the router itself reaches it too", async () => {
  await whileListening([isp], 80, () => {
    for (const x of Object.values(h)) assert.equal(tcp(x.netns, ISP, 80), { server: isp, peer: WAN }, `${x.netns} -> isp`);
  });
  for (const x of Object.values(h)) assert.ok(pings(x.netns, ISP), `${x.netns} pings the isp (the replies come back)`);
  assert.ok(pings(router, ISP), "the router pings the isp: its own replies come back in");
});

test("LAN A reaches LAN B on tcp/22 only; LAN B reaches LAN A with nothing but replies", async () => {
  await whileListening([h.nas.netns, h.printer.netns], 22, () => {
    assert.equal(tcp(h.laptop.netns, h.nas.address, 22), { server: h.nas.netns, peer: h.laptop.address }, "laptop -> nas tcp/22, no NAT inside");
    assert.equal(tcp(h.server.netns, h.printer.address, 22), { server: h.printer.netns, peer: h.server.address });
  });
  await whileListening([h.nas.netns], 80, () => assert.is(tcp(h.laptop.netns, h.nas.address, 80, 1), undefined, "laptop -> nas tcp/80"));
  assert.not.ok(pings(h.laptop.netns, h.nas.address), "laptop -> nas ping");
  await whileListening([h.laptop.netns, h.server.netns], 22, () => {
    assert.is(tcp(h.nas.netns, h.laptop.address, 22, 1), undefined, "nas -> laptop tcp/22");
    assert.is(tcp(h.printer.netns, h.server.address, 22, 1), undefined, "printer -> server tcp/22");
  });
  assert.ok(await refused(h.nas.netns, `http://${h.server.address}/`), "nas -> the web server");
  assert.not.ok(pings(h.printer.netns, h.laptop.address), "printer -> laptop ping");
  assert.ok(pings(h.laptop.netns, h.server.address), "inside LAN A: the bridge, no router in the way");
  assert.equal(await served(h.laptop.netns, `http://${h.server.address}/`), [PAGE, h.laptop.address]);
});

test("the graph draws the router's policy in a few words, and the resources by their names", () => {
  const drawn = graph(ex);
  for (const line of [
    "NAT out of the uplink: lan-a, lan-b",
    `publish tcp ${WAN}:8080 → lan-a-server ${h.server.address}:80`,
    "allow lan-a → lan-b tcp/22",
    "drop the rest between lan-a, lan-b",
    "inbound: replies and published ports only",
  ]) {
    assert.ok(drawn.includes(line), `${line} in:\n${drawn}`);
  }
  assert.ok(drawn.includes('"netns home-netns (forwarding)"'), "the router's namespace by its resource name");
  assert.ok(drawn.includes("lan-a-bridge (bridge)"), "a bridge by its resource name");
  assert.not.ok(drawn.includes(router), "no hashed namespace name");
});

test("a FirewallRule of priority 100 or lower closes the published port to the isp (it decides before the forward's accept); refresh, destroy and the kernel are clean", async () => {
  await expectLifecycle(ex, {
    code: `
new nslab.FirewallRule("close-8080", { action: "reject", priority: 50, inInterface: "uplink", protocol: "tcp", destinationPort: 80, state: ["new"], netns: router.netnsResource! });`,
    steps: ["create close-8080"],
    check: async () => {
      assert.ok(await refused(isp, `http://${WAN}:8080/`), "published, but closed by the rule");
      assert.equal(await served(h.laptop.netns, `http://${h.server.address}/`), [PAGE, h.laptop.address], "inside LAN A it still answers");
    },
  });
});

test.run();
