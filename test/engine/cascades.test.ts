import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { argv, changes, nslab, ROOT, type Config, type Json } from "../helpers/example";
import { kernelSnapshot } from "../helpers/snapshot";

// Every kernel cascade, end to end through the built CLI (fixtures/cascades): change the referent,
// preview shows what follows it, `up` converges, then the kernel has every object the program
// declares (a refresh finds nothing gone or changed) and the object the kernel took is back.

const test = suite("kernel cascades");
const FIXTURE = path.join(__dirname, "fixtures/cascades");
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-cascades-"));
const pristine = kernelSnapshot();
test.after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

/** The config of the runs so far: each test changes one key on top. */
const config: Config = {};
let out: Record<"redNetns" | "blueNetns" | "hostNetns", string>;

const ip = (netns: string, ...args: string[]) => execFileSync("ip", ["-n", netns, ...args], { encoding: "utf8" });
const sysctl = (netns: string, key: string) => execFileSync("ip", ["netns", "exec", netns, "sysctl", "-n", key], { encoding: "utf8" }).trim();

/** `nslab up --skip-preview` (the preview's steps are pinned once, below): this file runs many. */
function upWithoutPreview(): Json {
  const r = spawnSync(process.execPath, [...argv("up", FIXTURE, stateDir, config), "--skip-preview"], { cwd: ROOT, encoding: "utf8" });
  assert.is(r.status, 0, `nslab up exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Json;
}

/**
 * Changes the config: the up does exactly `steps` (and so does a preview first, when asked), and
 * afterwards a refresh finds nothing gone or changed.
 */
function change(values: Config, steps: string[], preview = false): void {
  Object.assign(config, values);
  if (preview) assert.equal(changes(nslab("preview", FIXTURE, stateDir, config)), steps, "the preview shows what follows the referent");
  const up = upWithoutPreview();
  assert.equal(changes(up), steps, "up does what follows the referent");
  out = up.outputs as typeof out;
  assert.equal(changes(nslab("refresh", FIXTURE, stateDir, config)), [], "the kernel has every object the program declares");
}

test("up makes the lab", () => {
  out = nslab("up", FIXTURE, stateDir, config).outputs as typeof out;
  assert.match(ip(out.redNetns, "route", "show", "default"), /default via 10\.0\.0\.2 dev veth-red/);
});

test("an address replaced (given in dependsOn, or an attachment's): the routes relying on it are re-installed, as the preview shows; the forwarding switch turned on: the interfaces' held forwarding values stay", () => {
  change(
    { redAddress: "10.0.0.1/25", hostAddress: "10.9.0.6", forwarding: 1 },
    ["replace lan-host-address", "replace red-ip", "update lan-host-route", "update red-default", "update red-forwarding"],
    true,
  );
  assert.match(ip(out.redNetns, "route", "show", "default"), /default via 10\.0\.0\.2 dev veth-red/);
  assert.match(ip(out.hostNetns, "route", "show", "default"), /default via 10\.9\.0\.1 dev eth0/);
  assert.is(sysctl(out.redNetns, "net.ipv4.conf.veth-red.forwarding"), "0");
  assert.is(sysctl(out.redNetns, "net.ipv4.conf.all.forwarding"), "1");
});

test("links re-created: a veth pair's addresses, routes and per-interface sysctl come back; a bridge's ports re-join it", () => {
  change({ peerName: "veth-blue2", bridgeName: "br-cascade2" }, [
    "replace blue-ip",
    "replace lan-bridge",
    "replace lan-gateway",
    "replace red-blue",
    "replace red-ip",
    "replace red-veth-forwarding",
    "update blue-far",
    "update lan-host-veth",
    "update red-default",
  ]);
  assert.match(ip(out.blueNetns, "route", "show", "10.7.0.0/16"), /via 10\.0\.0\.1 dev veth-blue2/);
  const ports = execFileSync("ip", ["-br", "link", "show", "master", "br-cascade2"], { encoding: "utf8" });
  assert.is(ports.trim().split("\n").length, 1, `the attachment's veth is the bridge's port: ${ports}`);
});

test("a namespace re-created: everything in it comes back", () => {
  const before = out.redNetns;
  change({ redName: "cascade-red" }, [
    "replace blue-ip",
    "replace red",
    "replace red-blue",
    "replace red-default",
    "replace red-forwarding",
    "replace red-ip",
    "replace red-nat",
    "replace red-no-ssh",
    "replace red-veth-forwarding",
    "replace red-web",
    "update blue-far",
  ]);
  assert.is(out.redNetns, "cascade-red");
  assert.not.ok(fs.existsSync(`/run/netns/${before}`));
});

test("destroy leaves the kernel as it was", () => {
  nslab("destroy", FIXTURE, stateDir, config);
  assert.fixture(kernelSnapshot(), pristine);
});

test.run();
