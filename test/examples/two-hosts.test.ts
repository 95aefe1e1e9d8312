import { spawn, spawnSync } from "node:child_process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { changes, CLI, Example, graph, ROOT } from "../helpers/example";
import { hostSnapshot, onLabHost, startHosts, type LabHost, type LabHosts } from "../helpers/hosts";
import { kernelSnapshot } from "../helpers/snapshot";

// examples/two-hosts end to end: two "remote hosts" (test/helpers/hosts.ts) and the sandbox's own
// namespace as this machine, one Segment across the three over VXLAN. Namespaces on different
// hosts reach each other by ping (one through `nslab exec` on a remote host) and TCP (a transfer
// of full-size frames, which only passes when every port has the tunnel's MTU); a preview after up
// changes nothing; the graph draws the three hosts and the tunnels; destroy leaves every host's
// kernel as it was. Then `nslab sandbox examples/two-hosts`, which starts two hosts of its own.

const test = suite("examples/two-hosts");
let lab: LabHosts;
let east: LabHost;
let west: LabHost;

/** This machine's kernel without nslab's ssh files (known_hosts, control sockets; blank lines too, which stand for none). */
const local = () =>
  kernelSnapshot()
    .split("\n")
    .filter((l) => l && !l.startsWith("ssh/"))
    .join("\n");

test.before(async () => {
  lab = await startHosts(2);
  [east, west] = lab.hosts as [LabHost, LabHost];
});

test.after(() => lab.teardown());

/** argv in namespace `netns` of a lab host (undefined: this machine). */
const inNetns = (h: LabHost | undefined, netns: string, ...argv: string[]) => (h ? ["nsenter", "-t", String(h.holder.pid), "--net", "--mount", "--"] : []).concat("ip", "netns", "exec", netns, ...argv);

/** Sends `bytes` bytes over TCP from `from` to a listener on address:5000 in `to`; how many arrived. */
async function transfer(from: [LabHost | undefined, string], to: [LabHost | undefined, string], address: string, bytes: number): Promise<number> {
  const [cmd, ...args] = inNetns(...to, "timeout", "10", "nc", "-l", address, "5000");
  const server = spawn(cmd!, args, { stdio: ["ignore", "pipe", "inherit"] });
  let received = 0;
  server.stdout.on("data", (d: Buffer) => (received += d.length));
  const done = new Promise((r) => server.on("close", r));
  const [c, ...cargs] = inNetns(...from, "nc", "-N", "-w", "5", address, "5000");
  for (let i = 0; spawnSync(c!, cargs, { input: Buffer.alloc(bytes, "x") }).status !== 0 && i < 40; i++) await new Promise((r) => setTimeout(r, 50));
  await done;
  return received;
}

test("one Segment across this machine and two hosts: ping and TCP across hosts, a no-op preview, the graph, destroy back to every host's kernel", async () => {
  const ex = new Example("two-hosts");
  const config = { hosts: JSON.stringify([east.host, west.host]), underlay: "10.250.0.1" };
  const pristine = [local(), hostSnapshot(east), hostSnapshot(west)];

  const up = ex.run("up", config);
  const made = changes(up);
  for (const site of ["local", "10.250.0.2", "10.250.0.3"]) assert.ok(made.includes(`create lan-${site}-vxlan`) && made.includes(`create lan-${site}-bridge`), made.join("\n"));
  const { addresses, namespaces } = up.outputs as Record<"addresses" | "namespaces", Record<"here" | "east" | "west", string>>;

  assert.ok(spawnSync("ip", ["netns", "exec", namespaces.here, "ping", "-c1", "-W2", addresses.east]).status === 0, "here -> east");
  assert.match(onLabHost(west, "ip", "netns", "exec", namespaces.west, "ping", "-c1", "-W2", addresses.here), /1 received/, "west -> here");
  const exec = spawnSync(process.execPath, [CLI, "exec", ex.dir, "east", "--state-dir", ex.stateDir, "--", "ping", "-c1", "-W2", addresses.west], { cwd: ROOT, encoding: "utf8" });
  assert.is(exec.status, 0, `nslab exec on host east: ${exec.stdout}${exec.stderr}`);
  assert.match(exec.stdout, /1 received/);
  assert.is(await transfer([undefined, namespaces.here], [west, namespaces.west], addresses.west, 200_000), 200_000, "TCP here -> west, full-size frames");
  assert.is(await transfer([east, namespaces.east], [undefined, namespaces.here], addresses.here, 200_000), 200_000, "TCP east -> here");

  assert.equal(changes(ex.run("preview", config)), [], "a preview right after up changes nothing");
  const drawn = graph(ex);
  for (const box of ['subgraph h0["local machine"]', 'subgraph h1["host 10.250.0.2"]', 'subgraph h2["host 10.250.0.3"]']) assert.ok(drawn.includes(box), drawn);
  assert.is(drawn.split("\n").filter((l) => l.includes(`|"vxlan ${up.outputs!.vni}"|`)).length, 3, `a tunnel between each two hosts:\n${drawn}`);

  ex.run("destroy", config);
  assert.equal([local(), hostSnapshot(east), hostSnapshot(west)], pristine, "destroy leaves every host's kernel as it was");
});

test("nslab sandbox starts the example's two hosts itself: up, pings across the three hosts, destroy", () => {
  const r = spawnSync(process.execPath, [CLI, "sandbox", "examples/two-hosts"], { cwd: ROOT, encoding: "utf8" });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /nslab sandbox: started 2 host\(s\): 10\.250\.0\.2, 10\.250\.0\.3/);
  assert.match(r.stdout, /\[host 10\.250\.0\.3: netns west-[0-9a-f]{4}\]/, "each host's kernel is shown");
  const pings = r.stdout.split("\n").filter((l) => / -> 10\.77\.0\./.test(l));
  assert.is(pings.length, 6, r.stdout);
  assert.ok(pings.every((l) => l.endsWith(": ok")), pings.join("\n"));
  assert.match(r.stdout, /Resources: 19 deleted/);
});

test.run();
