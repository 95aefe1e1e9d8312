import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { argv, changes, nslab, ROOT as root, summary, type Json } from "../helpers/example";
import { readState } from "../../engine/state";
import { kernelSnapshot } from "../helpers/snapshot";
import { descendants, ended, until } from "./lab";

// End to end on the real kernel, in this file's sandbox, through the built CLI (dist/): the lab
// of fixtures/lab (a host bridge, veth pairs enslaved to it with their peers in namespaces,
// addresses, default routes via the bridge's address, forwarding, NAT) through up, changes that
// replace or update one resource (previewed exactly as up then does them), replaced referents,
// drift, and destroy; a run of fixtures/scale
// killed mid-way (nothing it started outlives it) and re-run; and a program with a bad input.

const test = suite("nslab CLI on the kernel: a lab's lifecycle");
const LAB = path.join(__dirname, "fixtures/lab");
const SCALE = path.join(__dirname, "fixtures/scale");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-lab-"));
const pristine = kernelSnapshot();
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Link {
  ifname: string;
  ifindex: number;
  mtu: number;
  master?: string;
}

function links(netns?: string): Link[] {
  return JSON.parse(execFileSync("ip", [...(netns ? ["-n", netns] : []), "-j", "link", "show"], { encoding: "utf8" })) as Link[];
}

const link = (name: string, netns?: string) => links(netns).find((l) => l.ifname === name);

/** Every link of the host and of the lab's namespaces: "netns/name" -> ifindex. */
function ifindexes(namespaces: string[]): Record<string, number> {
  return Object.fromEntries(["", ...namespaces].flatMap((ns) => links(ns || undefined).map((l) => [`${ns || "-"}/${l.ifname}`, l.ifindex])));
}

function addresses(dev: string, netns?: string): string[] {
  const out = JSON.parse(execFileSync("ip", [...(netns ? ["-n", netns] : []), "-j", "-4", "addr", "show", "dev", dev], { encoding: "utf8" })) as {
    addr_info: { local: string; prefixlen: number }[];
  }[];
  return out.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

const routes = (netns: string) => execFileSync("ip", ["-n", netns, "route", "show", "default"], { encoding: "utf8" }).trim();

const pings = (netns: string, address: string) => spawnSync("ip", ["netns", "exec", netns, "ping", "-c1", "-W2", address]).status === 0;

/** How many nslab resources the state file records now. */
function nslabResources(stateFile: string): number {
  try {
    return readState(stateFile)?.deployment.resources.filter((r) => r.type.includes("/nslab:")).length ?? 0;
  } catch {
    return 0; // not written yet
  }
}

// The lab stack: each test starts from the config the previous one left (--config is per run).
const labState = path.join(tmp, "lab");
let config: Record<string, string | number> = {};
let namespaces: string[] = [];

test("up creates the lab: namespaces reach each other and the gateway over the bridge; a preview and a second up change nothing", () => {
  const up = nslab("up", LAB, labState);
  assert.equal(up.changeSummary, summary(0, 12, 0, 0, 0));
  namespaces = up.outputs!.namespaces as string[];
  assert.is(up.outputs!.bridge, "labbr0");
  const [ns0, ns1] = namespaces as [string, string];
  assert.is(link("labv0")!.master, "labbr0");
  assert.is(link("labv1")!.master, "labbr0");
  assert.equal(addresses("labbr0"), ["10.10.0.1/24"]);
  assert.equal(addresses("eth0", ns0), ["10.10.0.10/24"]);
  assert.equal(addresses("eth0", ns1), ["10.10.0.11/24"]);
  assert.is(routes(ns0), "default via 10.10.0.1 dev eth0 proto 199");
  assert.is(routes(ns1), "default via 10.10.0.1 dev eth0 proto 199");
  assert.is(fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8"), "1\n");
  assert.match(execFileSync("iptables-save", ["-t", "nat"], { encoding: "utf8" }), /-A NSLAB-POSTROUTING -s 10\.10\.0\.0\/24 ! -o labbr0 -m comment --comment "nslab:[0-9a-f]{12}:nat" -j MASQUERADE/);
  assert.ok(pings(ns0, "10.10.0.11"), "ns0 -> ns1 over the bridge");
  assert.ok(pings(ns1, "10.10.0.1"), "ns1 -> the bridge's address");
  assert.equal(nslab("preview", LAB, labState).changeSummary, summary(12, 0, 0, 0, 0), "a no-op preview is nothing but same");
  assert.equal(nslab("up", LAB, labState).changeSummary, summary(12, 0, 0, 0, 0));
});

test("a changed route metric replaces that route alone: every other resource is `same` and every link keeps its ifindex", () => {
  const before = ifindexes(namespaces);
  config = { metric1: 5 };
  const up = nslab("up", LAB, labState, config);
  assert.equal(changes(up), ["replace default1"]);
  assert.equal(up.changeSummary, summary(11, 0, 0, 1, 0));
  assert.equal(ifindexes(namespaces), before);
  assert.is(routes(namespaces[1]!), "default via 10.10.0.1 dev eth0 proto 199 metric 5");
  assert.is(routes(namespaces[0]!), "default via 10.10.0.1 dev eth0 proto 199");
});

test("an MTU change of a VethPair previews as that update alone (the Address and Route on its peer stay `same`), and up does exactly that", () => {
  const before = ifindexes(namespaces);
  config = { ...config, mtu0: 1400 };
  const preview = nslab("preview", LAB, labState, config);
  assert.equal(changes(preview), ["update veth0"]);
  assert.equal(preview.changeSummary, summary(11, 0, 1, 0, 0));
  const up = nslab("up", LAB, labState, config);
  assert.equal(changes(up), ["update veth0"]);
  assert.equal(up.changeSummary, summary(11, 0, 1, 0, 0));
  assert.equal(ifindexes(namespaces), before);
  assert.is(link("labv0")!.mtu, 1400);
  assert.is(link("eth0", namespaces[0])!.mtu, 1400);
  assert.is(link("labv1")!.mtu, 1500);
  assert.equal(addresses("eth0", namespaces[0]), ["10.10.0.10/24"]);
});

test("a gateway change updates the route in place: the same links, the new gateway in the kernel", () => {
  const before = ifindexes(namespaces);
  config = { ...config, via1: "10.10.0.2" };
  const up = nslab("up", LAB, labState, config);
  assert.equal(changes(up), ["update default1"]);
  assert.equal(up.changeSummary, summary(11, 0, 1, 0, 0));
  assert.equal(ifindexes(namespaces), before);
  assert.is(routes(namespaces[1]!), "default via 10.10.0.2 dev eth0 proto 199 metric 5");
});

test("a renamed Bridge is replaced, as previewed: the veth ends are enslaved to the new one, its address and the NAT rule follow", () => {
  const v0 = link("labv0")!.ifindex;
  const v1 = link("labv1")!.ifindex;
  config = { ...config, bridge: "labbr1" };
  const expected = ["replace br", "replace br-ip", "replace nat", "update veth0", "update veth1"];
  assert.equal(changes(nslab("preview", LAB, labState, config)), expected);
  const up = nslab("up", LAB, labState, config);
  assert.equal(changes(up), expected);
  assert.is(link("labbr0"), undefined);
  assert.is(link("labv0")!.master, "labbr1");
  assert.is(link("labv1")!.master, "labbr1");
  assert.is(link("labv0")!.ifindex, v0);
  assert.is(link("labv1")!.ifindex, v1);
  assert.equal(addresses("labbr1"), ["10.10.0.1/24"]);
  const nat = execFileSync("iptables-save", ["-t", "nat"], { encoding: "utf8" });
  assert.match(nat, /-A NSLAB-POSTROUTING -s 10\.10\.0\.0\/24 ! -o labbr1 /);
  assert.not.match(nat, /labbr0/);
  assert.ok(pings(namespaces[0]!, "10.10.0.1"), "ns0 -> the new bridge's address");
  assert.ok(pings(namespaces[0]!, "10.10.0.11"), "ns0 -> ns1 over the new bridge");
});

test("a renamed VethPair is replaced, as previewed: the Address on its peer is replaced and the Route on it follows, both back on the new peer", () => {
  const [ns0] = namespaces as [string];
  const oldPeer = link("eth0", ns0)!.ifindex;
  config = { ...config, veth0: "labx0" };
  // The route follows its device in place (`ip route replace`): the link's identity is an update key of Route.
  const expected = ["replace ip0", "replace veth0", "update default0"];
  assert.equal(changes(nslab("preview", LAB, labState, config)), expected);
  const up = nslab("up", LAB, labState, config);
  assert.equal(changes(up), expected);
  assert.is(link("labv0"), undefined);
  assert.is(link("labx0")!.master, "labbr1");
  assert.is(link("labx0")!.mtu, 1400);
  assert.is.not(link("eth0", ns0)!.ifindex, oldPeer);
  assert.equal(addresses("eth0", ns0), ["10.10.0.10/24"]);
  assert.is(routes(ns0), "default via 10.10.0.1 dev eth0 proto 199");
  assert.ok(pings(ns0, "10.10.0.11"), "ns0 -> ns1 through the new pair");
  assert.equal(nslab("up", LAB, labState, config).changeSummary, summary(12, 0, 0, 0, 0));
});

test("a veth pair deleted by hand is found by refresh (it and what was on its peer are gone) and put back by up", () => {
  // The bridge's MTU output was read when it was created, before its ports joined; not managed,
  // it is now the smallest of theirs (labx0's 1400): refresh records that as an update.
  const [, ns1] = namespaces as [string, string];
  execFileSync("ip", ["link", "del", "dev", "labv1"]);
  const refresh = nslab("refresh", LAB, labState);
  assert.equal(changes(refresh), ["delete default1", "delete ip1", "delete veth1", "update br"]);
  const up = nslab("up", LAB, labState, config);
  assert.equal(changes(up), ["create default1", "create ip1", "create veth1"]);
  assert.is(link("labv1")!.master, "labbr1");
  assert.equal(addresses("eth0", ns1), ["10.10.0.11/24"]);
  assert.is(routes(ns1), "default via 10.10.0.2 dev eth0 proto 199 metric 5");
  assert.ok(pings(ns1, "10.10.0.10"), "ns1 -> ns0 again");
});

test("destroy deletes every resource and leaves the kernel as it was before up; what is on a peer in a Netns goes with the Netns (deletedWith)", () => {
  const resources = readState(path.join(labState, "dev.json"))!.deployment.resources;
  const urnOf = (name: string) => resources.find((r) => r.urn.endsWith(`::${name}`))!.urn;
  for (const name of ["ip0", "default0", "ip1", "default1"]) assert.is(resources.find((r) => r.urn.endsWith(`::${name}`))?.deletedWith, urnOf(name.replace(/\D+/, "ns")), name);
  assert.is(resources.find((r) => r.urn.endsWith("::br-ip"))?.deletedWith, undefined);
  assert.equal(nslab("destroy", LAB, labState).changeSummary, summary(0, 0, 0, 0, 12));
  assert.fixture(kernelSnapshot(), pristine);
});

test("an up killed mid-way (SIGKILL to nslab alone, at its 6th resource) leaves nothing running and is converged by the next up; destroy is then clean", async () => {
  const stateDir = path.join(tmp, "killed");
  const stateFile = path.join(stateDir, "dev.json");
  const child = spawn(process.execPath, argv("up", SCALE, stateDir, { n: 6 }), { cwd: root, stdio: "ignore" });
  const exited = new Promise((resolve) => child.on("close", resolve));
  const recorded = () => nslabResources(stateFile);
  await until(() => recorded() >= 6);
  // The program and the command spawner (bash, in a session of its own) that the providers started.
  const children = descendants(child.pid!);
  process.kill(child.pid!, "SIGKILL");
  await exited;
  await ended(children);
  const done = recorded();
  assert.ok(done >= 6 && done < 24, `killed after ${done} of 24 resources`);
  const up = nslab("up", SCALE, stateDir, { n: 6 });
  assert.is(up.changeSummary.same! + up.changeSummary.create!, 24, JSON.stringify(up.changeSummary));
  const preview = nslab("preview", SCALE, stateDir, { n: 6 });
  assert.equal(preview.steps.filter((s) => s.op !== "same"), []);
  assert.equal(preview.changeSummary, summary(24, 0, 0, 0, 0));
  for (const [i, ns] of (up.outputs!.namespaces as string[]).entries()) assert.equal(addresses("eth0", ns), [`10.20.${i}.2/24`]);
  assert.equal(nslab("destroy", SCALE, stateDir).changeSummary, summary(0, 0, 0, 0, 24));
  assert.fixture(kernelSnapshot(), pristine);
});

test("Ctrl-C (SIGINT to the process group, at the 6th resource): the commands in flight finish (the spawner never sees it), no pending operation is left, and the next up converges", async () => {
  const stateDir = path.join(tmp, "interrupted");
  const stateFile = path.join(stateDir, "dev.json");
  const child = spawn(process.execPath, argv("up", SCALE, stateDir, { n: 6 }), { cwd: root, detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const recorded = () => nslabResources(stateFile);
  await until(() => recorded() >= 6);
  process.kill(-child.pid!, "SIGINT");
  assert.is(await exited, 1, stderr);
  assert.not.match(stderr, /command spawner/); // exec.ts's message (a bare /spawner/ also matched a checkout path in a stack trace)
  assert.is(readState(stateFile)!.deployment.pending_operations, undefined);
  const up = nslab("up", SCALE, stateDir, { n: 6 });
  assert.is(up.changeSummary.same! + up.changeSummary.create!, 24, JSON.stringify(up.changeSummary));
  assert.equal(nslab("destroy", SCALE, stateDir).changeSummary, summary(0, 0, 0, 0, 24));
  assert.fixture(kernelSnapshot(), pristine);
});

test("fails on an interface name of 16 characters before anything is created: exit 1, the resource and the reason shown", () => {
  const stateDir = path.join(tmp, "bad");
  const r = spawnSync(process.execPath, argv("up", LAB, stateDir, { bridge: "labbridge0123456" }), { cwd: root, encoding: "utf8" });
  assert.is(r.status, 1, r.stderr);
  const out = JSON.parse(r.stdout) as Json;
  assert.is(out.failed, true);
  assert.equal(changes(out), []);
  const errors = out.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
  assert.match(errors.join("\n"), /Bridge resource 'br': property name has a problem: "labbridge0123456" is not valid: it is 16 bytes long; the kernel allows at most 15/, errors.join("\n"));
  assert.match(r.stderr, /'br'.*16 bytes long/);
  assert.fixture(kernelSnapshot(), pristine);
});

test.run();
