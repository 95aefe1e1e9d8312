import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { exec } from "../../provider/driver/exec";
import { onHost } from "../../provider/driver/host";
import { providers } from "../../provider";
import { argv, changes, nslab, ROOT, type Config, type Json } from "../helpers/example";
import { hostSnapshot, onLabHost, startHosts, startSshd, take, tripAt, type LabHost, type LabHosts } from "../helpers/hosts";
import { owner } from "../helpers/kernel";
import { kernelSnapshot } from "../helpers/snapshot";

// Labs across hosts (docs/hosts.md), in one sandbox: two "remote hosts" (test/helpers/hosts.ts),
// each with its own sshd, and the sandbox's own namespace as the provider's machine. The fixture
// (fixtures/hosts) puts the same site under the same kernel names on all three.

const test = suite("hosts");
const FIXTURE = path.join(__dirname, "fixtures/hosts");
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-hosts-state-"));
/** Names and values a shell would act on: each must arrive as it is, and none may run anything. */
let WEIRD: string[];
let lab: LabHosts;
let h0: LabHost;
let h1: LabHost;
let marker: string;
let config: Config;
/** The kernel of each host before the lab (the local one without nslab's ssh files: known_hosts and control sockets). */
let pristine: string[];
const local = () => kernelSnapshot().replace(/# nslab records\n[^#]*/, (records) => `${records.split("\n").filter((l) => l && !l.startsWith("ssh/")).join("\n")}\n`);
const snapshots = () => [local(), hostSnapshot(h0), hostSnapshot(h1)];

test.before(async () => {
  lab = await startHosts(2);
  [h0, h1] = lab.hosts as [LabHost, LabHost];
  marker = path.join(h0.dir, "marker");
  WEIRD = ["a b", "it's", '"dq"', `$(touch ${marker})`, `\`touch ${marker}\``, `; touch ${marker}`, `x && touch ${marker}`, "new\nline", "back\\slash", "*", "$HOME", "", "-n", "'", "#"];
  config = { hosts: JSON.stringify([h0.host, h1.host]), weird: JSON.stringify(WEIRD), tag: `-${process.pid}` };
  pristine = snapshots();
});

test.after(async () => {
  await lab.teardown();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

test("argv words arrive on the host unchanged, and nothing else runs", async () => {
  const { stdout } = await onHost(h0.host, () => exec(["printf", "%s\\0", ...WEIRD]));
  assert.equal(stdout.split("\0").slice(0, -1), WEIRD);
  const input = "line 1\n'$(touch x)'\n";
  assert.is((await onHost(h0.host, () => exec(["cat"], { input }))).stdout, input.replace(/\n$/, ""));
  assert.not.ok(fs.existsSync(marker), "no word ran as a command");
});

test("a bad host fails at preview, naming the resource, the value and what is allowed", async () => {
  const r = spawnSync(process.execPath, argv("preview", FIXTURE, stateDir, { ...config, bad: JSON.stringify({ address: "" }) }), { cwd: ROOT, encoding: "utf8" });
  assert.is.not(r.status, 0);
  assert.match(r.stdout + r.stderr, /Netns resource 'bad': property host has a problem: \{"address":""\} is not valid: address must be a host name or IP address/);
  const reasons = async (host: unknown) => (await providers.Netns.check({}, { name: "x", owner: owner("x"), host })).failures?.map((f) => f.reason).join("\n") ?? "";
  assert.match(await reasons({ address: "h", port: 70000 }), /port must be an integer from 1 to 65535/);
  assert.match(await reasons({ address: "h", identityFile: "id_ed25519" }), /identityFile must be an absolute path/);
  assert.match(await reasons({ address: "h", hostname: "x" }), /unknown key "hostname": a host takes only address, user, port, identityFile/);
  assert.match(await reasons({ address: "root@h" }), /give the user as user: "root"/);
});

test("host is part of an object's identity: unset is no change, another host replaces", async () => {
  const olds = { name: "n", loopback: true, owner: owner("n") };
  assert.is((await providers.Netns.diff("netns:n", olds, { ...olds })).changes, false);
  assert.equal((await providers.Netns.diff("netns:n", olds, { ...olds, host: h0.host })).replaces, ["host"]);
  assert.equal((await providers.Netns.diff("netns:n", { ...olds, host: h0.host }, { ...olds, host: h1.host })).replaces, ["host"]);
});

let up: Json;

test("up makes the lab on the provider's machine and both hosts, each with the same kernel names, apart", () => {
  up = nslab("up", FIXTURE, stateDir, config);
  for (const h of [h0, h1]) {
    assert.equal(onLabHost(h, "ip", "netns", "list").split("\n").map((l) => l.split(" ")[0]).filter((n) => n?.startsWith("lab-")).sort(), h === h1 ? ["lab-a", "lab-b", "lab-s1"] : ["lab-a", "lab-b"]);
    assert.match(onLabHost(h, "ip", "-n", "lab-b", "addr", "show", "dev", "vb"), /10\.77\.0\.2\/24/);
    assert.match(onLabHost(h, "ip", "-n", "lab-b", "route", "show", "10.78.0.0/24"), /via 10\.77\.0\.1 dev vb proto 199/);
    assert.match(onLabHost(h, "ip", "netns", "exec", "lab-a", "iptables-save"), /--dport 9 .*-j DROP/);
    assert.ok(onLabHost(h, "ip", "netns", "exec", "lab-b", "ping", "-c", "1", "-W", "1", "10.77.0.1").includes("1 received"));
  }
  assert.equal(execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").filter(Boolean).map((l) => l.split(" ")[0]).sort(), ["lab-a", "lab-b"]);
  assert.is(onLabHost(h1, "cat", "/proc/sys/net/ipv4/conf/all/forwarding").trim(), "1", "the Sysctl is host 1's own");
  assert.is(fs.readFileSync("/proc/sys/net/ipv4/conf/all/forwarding", "utf8").trim(), "0", "not the provider's machine's");
  assert.ok(onLabHost(h1, "ip", "netns", "exec", "lab-s1", "ping", "-c", "1", "-W", "1", "10.79.0.1").includes("1 received"), "the Segment placed by its host joins host 1's namespace");
  // The Process's argv and environment on host 0, exactly as given.
  const pid = String(up.outputs!.process);
  assert.equal(onLabHost(h0, "cat", `/proc/${pid}/cmdline`).split("\0").slice(0, -1), ["sh", "-c", "sleep 1000; : ok", "sh", ...WEIRD]);
  const environ = onLabHost(h0, "cat", `/proc/${pid}/environ`).split("\0");
  WEIRD.forEach((w, i) => assert.ok(environ.includes(`W${i}=${w}`), `W${i}`));
  assert.not.ok(fs.existsSync(marker), "no argument ran as a command");
});

test("preview of the same program changes nothing and touches no host", () => {
  for (const h of [h0, h1]) for (const log of ["commands", "sessions"] as const) take(h, log);
  assert.equal(changes(nslab("preview", FIXTURE, stateDir, config)), []);
  assert.equal([h0, h1].flatMap((h) => [take(h, "commands"), take(h, "sessions")]), [[], [], [], []]);
});

test("a change on one host runs commands on that host only", () => {
  const r = nslab("up", FIXTURE, stateDir, { ...config, step: 1 });
  assert.equal(changes(r), ["replace h1-rule"]);
  assert.equal([take(h0, "commands"), take(h0, "sessions")], [[], []], "host 0 is not even connected to");
  assert.ok(take(h1, "commands").length > 0);
  assert.equal(take(h1, "sessions").length, 2, "host 1: one connection (its master's session) and one session running every command");
  assert.match(onLabHost(h1, "ip", "netns", "exec", "lab-a", "iptables-save"), /--dport 10 .*-j DROP/);
  assert.match(onLabHost(h0, "ip", "netns", "exec", "lab-a", "iptables-save"), /--dport 9 .*-j DROP/);
});

test("refresh finds drift made by hand on a remote host; up repairs it", () => {
  onLabHost(h0, "ip", "-n", "lab-b", "route", "del", "10.78.0.0/24");
  const refresh = nslab("refresh", FIXTURE, stateDir, { ...config, step: 1 });
  assert.equal(changes(refresh), ["delete h0-route"]);
  assert.equal(changes(nslab("up", FIXTURE, stateDir, { ...config, step: 1 })), ["create h0-route"]);
  assert.match(onLabHost(h0, "ip", "-n", "lab-b", "route", "show", "10.78.0.0/24"), /via 10\.77\.0\.1/);
});

test("a host that goes down mid-up fails its resources with the host, ssh's error and what to check; the others' changes stay; the next up converges", async () => {
  tripAt(h1, 2);
  const r = spawnSync(process.execPath, argv("up", FIXTURE, stateDir, { ...config, step: 2 }), { cwd: ROOT, encoding: "utf8" });
  assert.is.not(r.status, 0, r.stdout);
  const json = JSON.parse(r.stdout) as Json;
  const messages = json.diagnostics.map((d) => d.message).join("\n");
  assert.ok(/h1-extra.*host root@10\.250\.0\.3 cannot be reached over ssh: /s.test(messages), messages);
  assert.match(messages, /Check that the host is up and reachable from here, that sshd listens on port 22/);
  assert.match(messages, new RegExp(`ssh -i ${lab.identityFile} root@10.250.0.3 true`));
  assert.ok(onLabHost(h0, "ip", "netns", "list").includes("lab-extra"), "host 0's change is done");
  assert.ok(execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).includes("lab-extra"), "the provider's machine's change is done");
  await startSshd(h1);
  const again = nslab("up", FIXTURE, stateDir, { ...config, step: 2 });
  assert.equal(changes(again), ["create h1-extra"]);
  assert.equal(changes(nslab("preview", FIXTURE, stateDir, { ...config, step: 2 })), []);
});

test("ownership is per host: a foreign namespace is refused (or adopted) on its host only", async () => {
  onLabHost(h0, "ip", "netns", "add", "foreign");
  const inputs = (host: LabHost["host"], adopt?: boolean) => ({ name: "foreign", loopback: true, owner: owner("foreign"), host, ...(adopt ? { adopt } : {}) });
  let message = "";
  await providers.Netns.create(inputs(h0.host)).catch((err: Error) => (message = err.message));
  assert.match(message, /^Netns "foreign": create on host root@10\.250\.0\.2: namespace "foreign" already exists and was made by something other than nslab/);
  const mine = await providers.Netns.create(inputs(h1.host));
  assert.ok(onLabHost(h1, "ip", "netns", "list").includes("foreign"));
  const adopted = await providers.Netns.create(inputs(h0.host, true));
  await providers.Netns.delete(mine.id, mine.outs);
  await providers.Netns.delete(adopted.id, adopted.outs);
  assert.not.ok(onLabHost(h0, "ip", "netns", "list").includes("foreign"));
  assert.not.ok(onLabHost(h1, "ip", "netns", "list").includes("foreign"));
});

test("destroy leaves every host's kernel as it was", () => {
  nslab("destroy", FIXTURE, stateDir, { ...config, step: 2 });
  snapshots().forEach((now, i) => assert.fixture(now, pristine[i]!, ["provider's machine", "host 0", "host 1"][i]));
});

test.run();
