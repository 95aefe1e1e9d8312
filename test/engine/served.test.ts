import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { argv, changes, CLI, nslab, summary } from "../helpers/example";
import { httpGet } from "../helpers/http";
import { kernelSnapshot } from "../helpers/snapshot";

// A Process and a TrafficControl through the built CLI on the kernel: the server keeps serving
// after `nslab up` (and its provider host) ended; a rate change is an update in place; a server
// killed by hand is drift that refresh finds and up repairs; a command that exits at once fails
// the run with its status and output; destroy stops the server and leaves the kernel as it was.

const test = suite("nslab CLI: Process and TrafficControl");
const DIR = path.join(__dirname, "fixtures/served");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-served-"));
const site = path.join(tmp, "site");
fs.mkdirSync(site);
fs.writeFileSync(path.join(site, "index.html"), "served\n");
const state = path.join(tmp, "state");
const pristine = kernelSnapshot();
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let config: Record<string, string> = { dir: site };
let out: { clientNetns: string; serverNetns: string; pid: number; logPath: string; handle: string };

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
const rate = () => (JSON.parse(spawnSync("tc", ["-n", out.clientNetns, "-j", "qdisc", "show", "dev", "eth0"], { encoding: "utf8" }).stdout) as { options: { rate: number } }[])[0]!.options.rate;

test("up starts the server, which keeps serving after the CLI and its provider host ended; the client's egress is shaped", async () => {
  const up = nslab("up", DIR, state, config);
  assert.equal(up.changeSummary, summary(0, 7, 0, 0, 0));
  out = up.outputs as typeof out;
  assert.ok(alive(out.pid), "the server outlives `nslab up`");
  assert.is(await httpGet(out.clientNetns, "http://10.20.0.2:8000/"), "served\n");
  assert.match(fs.readFileSync(out.logPath, "utf8"), /"GET \/ HTTP\/1.1" 200/);
  assert.is(rate(), 1_000_000);
});

/** `nslab <command> DIR args…` with its state, optionally with stdin; status, stdout (bytes) and stderr. */
function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, args[0]!, DIR, "--state-dir", state, ...args.slice(1)], { input, env: { ...process.env, SHELL: "/bin/sh" } });
  return { status: r.status, stdout: r.stdout, text: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("exec, shell and capture find a namespace and a link by their names in the program; an unknown name lists the known ones", async () => {
  const inServer = cli(["exec", "web", "--", "ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
  assert.is(inServer.status, 0, inServer.stderr);
  assert.match(inServer.text, /inet 10\.20\.0\.2\/24/, "a Process's namespace");
  assert.is(cli(["exec", "client", "--", "sh", "-c", "exit 7"]).status, 7, "the command's status");
  const shell = cli(["shell", "client"], "ip -o -4 addr show dev eth0; echo $NSLAB_NETNS; exit 3\n");
  assert.is(shell.status, 3);
  assert.match(shell.text, new RegExp(`inet 10\\.20\\.0\\.1/24[^]*\\n${out.clientNetns}\\n`));
  const unknown = cli(["exec", "nope", "--", "true"]);
  assert.is(unknown.status, 1);
  assert.is(unknown.stderr, `nslab: no resource with a namespace called "nope" in the stack; there are: client (Netns), client-ip (Address), link (VethPair), server (Netns), server-ip (Address), slow (TrafficControl), web (Process)\n`);

  // A capture of the server's end, ended by tcpdump after 4 packets: to a file, and as pcap on a pipe.
  const file = path.join(tmp, "web.pcap");
  const toFile = spawn(process.execPath, [CLI, "capture", DIR, "link", "--end", "peer", "-w", file, "--state-dir", state, "--", "-c", "4", "tcp", "port", "8000"], { stdio: "ignore" });
  const toPipe = spawn(process.execPath, [CLI, "capture", DIR, "link", "--end", "peer", "--state-dir", state, "--", "-c", "4", "tcp", "port", "8000"], { stdio: ["ignore", "pipe", "ignore"] });
  const chunks: Buffer[] = [];
  toPipe.stdout.on("data", (d: Buffer) => chunks.push(d));
  const ended = Promise.all([toFile, toPipe].map((c) => new Promise((r) => c.on("close", r))));
  // tcpdump is listening once the file has its header.
  for (let i = 0; i < 400 && !(fs.existsSync(file) && fs.statSync(file).size > 0 && chunks.length); i++) await new Promise((r) => setTimeout(r, 25));
  assert.is(await httpGet(out.clientNetns, "http://10.20.0.2:8000/"), "served\n");
  await ended;
  assert.match(spawnSync("tcpdump", ["-n", "-r", file], { encoding: "utf8" }).stdout, /10\.20\.0\.1\.\d+ > 10\.20\.0\.2\.8000: Flags \[S\]/);
  assert.is(Buffer.concat(chunks).readUInt32LE(0), 0xa1b2c3d4, "pcap on stdout");
  const wrongEnd = cli(["capture", "web", "--end", "peer"]);
  assert.is(wrongEnd.status, 1);
  assert.match(wrongEnd.stderr, /no link \(VethPair, Bridge, or the device of a TrafficControl or Address\) called "web" in the stack; there are: client-ip \(Address\), link \(VethPair\), server-ip \(Address\), slow \(TrafficControl\)\n$/);
});

test("a rate change updates the TrafficControl in place, previewed as that alone (the rest `same`); the server is untouched", async () => {
  config = { ...config, rate: "2mbit" };
  assert.equal(changes(nslab("preview", DIR, state, config)), ["update slow"]);
  assert.equal(changes(nslab("up", DIR, state, config)), ["update slow"]);
  assert.is(rate(), 250_000);
  assert.ok(alive(out.pid));
});

test("a server killed by hand is drift: refresh finds it gone, up starts it again", async () => {
  process.kill(out.pid, "SIGKILL");
  for (let i = 0; i < 200 && alive(out.pid); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(changes(nslab("refresh", DIR, state, config)), ["delete web"]);
  const up = nslab("up", DIR, state, config);
  assert.equal(changes(up), ["create web"]);
  out = up.outputs as typeof out;
  assert.is(await httpGet(out.clientNetns, "http://10.20.0.2:8000/"), "served\n");
});

test("a command that exits at once fails the run with its status and output; nothing of it is left", () => {
  const r = spawnSync(process.execPath, [...argv("up", DIR, state, { ...config, quits: "1" }), "--skip-preview"], { encoding: "utf8" });
  assert.is(r.status, 1, r.stdout);
  const json = JSON.parse(r.stdout) as { diagnostics: { message: string }[] };
  assert.ok(
    json.diagnostics.some((d) => /Process "quits": create: sh -c .* exited at once with status 4; its output:\n {2}cannot start/.test(d.message)),
    JSON.stringify(json.diagnostics),
  );
});

test("destroy stops the server and leaves the kernel as it was", () => {
  assert.equal(nslab("destroy", DIR, state, config).changeSummary, summary(0, 0, 0, 0, 7));
  assert.not.ok(alive(out.pid), "the server is stopped");
  assert.fixture(kernelSnapshot(), pristine);
});

test.run();
