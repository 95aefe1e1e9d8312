import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { marked } from "../../provider/driver/process";
import { ownerHash } from "../../provider/lib/owner";
import { processKind, type ProcessInputs, type ProcessOutputs } from "../../provider/resources/process";
import { addVethLab, checked, created, delVethLab, failures, owner, rejects, UNKNOWN } from "../helpers/kernel";
import { httpGet } from "../helpers/http";

// Namespaces "a" (10.0.0.1) and "b" (10.0.0.2) joined by a veth pair (addVethLab); each test's processes run
// in "a", and every test ends with none of its processes alive.

const test = suite("Process");
const site = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-process-"));
fs.writeFileSync(path.join(site, "index.html"), "hello from a\n");

test.before(addVethLab);
test.after(() => {
  delVethLab();
  fs.rmSync(site, { recursive: true, force: true });
});

const web = (name: string, o: Partial<ProcessInputs> = {}) =>
  checked(processKind, { netns: "a", command: ["python3", "-m", "http.server", "8000"], cwd: site, ready: { tcpPort: 8000 }, owner: owner(name), ...o });

/** Field `n` (1-based) of /proc/PID/stat. */
const statField = (pid: number, n: number) => fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[n - 3]!;

function assertNoneLeft(name: string): void {
  assert.equal(marked(ownerHash(owner(name))), [], `no process of ${name} is left`);
}

test("starts a web server in the namespace, detached, marked, logging to its file; reads it back; delete stops it; delete again", async () => {
  const { id, outs } = await created(processKind, await web("web"));
  const pid = outs.pid;
  assert.is(id, `process:a/${pid}`);
  assert.is(await httpGet("b", "http://10.0.0.1:8000/"), "hello from a\n", "served from namespace a to b");
  assert.is(statField(pid, 6), String(pid), "its own session");
  assert.is(statField(pid, 5), String(pid), "its own process group");
  assert.is.not(statField(pid, 4), String(process.pid), "not a child of the provider");
  assert.is(fs.statSync(`/proc/${pid}/ns/net`).ino, fs.statSync("/run/netns/a").ino, "in namespace a");
  assert.ok(fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`NSLAB_OWNER=${ownerHash(owner("web"))}`));
  assert.is(outs.startTime, statField(pid, 22));
  assert.match(fs.readFileSync(outs.logPath, "utf8"), /"GET \/ HTTP\/1.1" 200/, "its output goes to the log");

  assert.equal(await processKind.read(id, outs), { id, props: outs });
  await processKind.delete(id, outs);
  assertNoneLeft("web");
  assert.not.ok(fs.existsSync(outs.logPath), "the log goes with it");
  assert.equal(await processKind.read(id, outs), {});
  await processKind.delete(id, outs);
});

test("a reused pid is not ours: another start time or no mark reads as gone, and delete leaves that process alone", async () => {
  const { id, outs } = await created(processKind, await web("reuse"));
  assert.equal(await processKind.read(id, { ...outs, startTime: "1" }), {}, "same pid, other start time");
  await processKind.delete(id, outs);

  const foreign = spawn("sleep", ["60"], { stdio: "ignore" });
  const pid = foreign.pid!;
  const fake: ProcessOutputs = { ...outs, pid, startTime: statField(pid, 22) };
  assert.equal(await processKind.read(id, fake), {}, "a live process without the mark");
  await processKind.delete(id, fake);
  assert.is(foreign.exitCode, null, "the foreign process still runs");
  assert.ok(fs.existsSync(`/proc/${pid}`));
  foreign.kill();
});

test("the same lab's process in another sandbox (its own /run, engine/sandbox.ts) is not ours: create and delete leave it alone", async () => {
  const inputs = await web("twin");
  const mark = `NSLAB_OWNER=${ownerHash(inputs.owner)}`;
  const twin = spawn("unshare", ["--mount", "--propagation", "private", "--", "sh", "-c", `mount -t tmpfs twin /run && exec env ${mark} sleep 60`], { stdio: "ignore" });
  const marks = () => fs.readFileSync(`/proc/${twin.pid}/environ`, "utf8").split("\0");
  for (let i = 0; i < 100 && !marks().includes(mark); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(marks().includes(mark), "the twin carries the same mark");
  const { id, outs } = await created(processKind, inputs);
  assert.equal(marked(ownerHash(inputs.owner)), [outs.pid], "only this sandbox's process is marked ours");
  await processKind.delete(id, outs);
  assert.ok(fs.existsSync(`/proc/${twin.pid}`) && marks().includes(mark), "the twin still runs");
  twin.kill();
});

test("drift: a process killed out of band reads as gone; create starts it again", async () => {
  const inputs = await web("drift");
  const { id, outs } = await created(processKind, inputs);
  process.kill(outs.pid, "SIGKILL");
  for (let i = 0; i < 100 && marked(ownerHash(inputs.owner)).length; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await processKind.read(id, outs), {});
  const again = await created(processKind, inputs);
  assert.is(await httpGet("b", "http://10.0.0.1:8000/"), "hello from a\n");
  await processKind.delete(again.id, again.outs);
  assertNoneLeft("drift");
});

test("a create retried after its outputs were lost stops the first process: one server, not two", async () => {
  const inputs = await web("retry");
  const first = await created(processKind, inputs);
  const second = await created(processKind, inputs);
  assert.is.not(second.outs.pid, first.outs.pid);
  assert.equal(marked(ownerHash(inputs.owner)), [second.outs.pid]);
  await processKind.delete(second.id, second.outs);
  assertNoneLeft("retry");
});

test("a command that exits at once fails the create with its status and its output; nothing is left", async () => {
  const message = await rejects(
    processKind.create(await checked(processKind, { netns: "a", command: ["sh", "-c", "echo no config file >&2; exit 3"], owner: owner("quits") })),
    /^Process "quits": create: sh -c .* exited at once with status 3; its output:\n {2}no config file$/,
  );
  assert.not.match(message, /undefined/);
  assertNoneLeft("quits");
  assert.equal(fs.readdirSync("/run/nslab/process"), [], "no log left");
});

test("a server that does not listen on its ready port in time fails the create with its log, and is stopped", async () => {
  const inputs = await checked(processKind, { netns: "a", command: ["sh", "-c", "echo starting; exec sleep 60"], ready: { tcpPort: 9, timeout: 0.5 }, owner: owner("slow") });
  await rejects(processKind.create(inputs), /did not listen on TCP port 9 in namespace "a" within 0\.5 s \(it was stopped\); its output:\n {2}starting$/);
  assertNoneLeft("slow");
});

test("delete sends SIGKILL after stopTimeout to a process that ignores SIGTERM", async () => {
  const inputs = await checked(processKind, { netns: "a", command: ["sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.1; done"], stopTimeout: 0.3, owner: owner("stubborn") });
  const { id, outs } = await created(processKind, inputs);
  await processKind.delete(id, outs);
  assertNoneLeft("stubborn");
  assert.not.ok(fs.existsSync(`/proc/${outs.pid}`) && statField(outs.pid, 3) !== "Z");
});

test("stopTimeout and ready change in place; command, env, cwd and netns replace", async () => {
  const inputs = await web("diff");
  const outs = { ...inputs, pid: 1, startTime: "1", logPath: "/x" };
  assert.equal((await processKind.diff("x", outs, { ...inputs, stopTimeout: 2, ready: { tcpPort: 8000, timeout: 5 } })).replaces, []);
  for (const change of [{ command: ["python3", "-m", "http.server", "8001"] }, { env: ["A=1"] }, { cwd: "/" }, { netns: "b" }]) {
    const d = await processKind.diff("x", outs, { ...inputs, ...change });
    assert.equal(d.replaces, Object.keys(change), JSON.stringify(change));
    assert.ok(d.deleteBeforeReplace);
  }
});

test("bad input: every failure at once, with the value and what to do", async () => {
  const base = { netns: "a", owner: owner("bad") };
  assert.equal(await failures(processKind, { ...base, command: [] }), [
    `command: [] is not valid: use a non-empty list: the program and its arguments, e.g. ["python3", "-m", "http.server", "80"]`,
  ]);
  assert.equal(await failures(processKind, { ...base, command: ["no-such-program-x"], env: ["PATH=/usr/bin:/bin"] }), [
    `command: ["no-such-program-x"] is not valid: "no-such-program-x" is not found in PATH (/usr/bin:/bin); install it, or give its absolute path`,
  ]);
  assert.equal(await failures(processKind, { ...base, command: ["./server"] }), [
    `command: ["./server"] is not valid: ./server is a relative path and no cwd is set; set cwd, or use an absolute path`,
  ]);
  assert.equal(await failures(processKind, { ...base, command: ["./server"], cwd: site }), [
    `command: ["./server"] is not valid: ${site}/server is not an executable file on this host`,
  ]);
  assert.equal(await failures(processKind, { ...base, netns: "a/b", command: ["/bin/true"], cwd: "tmp", env: ["1A=x", "NSLAB_OWNER=x"], ready: { tcpPort: 0 }, stopTimeout: -1 }), [
    `netns: "a/b" is not valid: use 1-255 characters from A-Z a-z 0-9 _ . - (not starting with "-", not "." or "..")`,
    `env: ["1A=x","NSLAB_OWNER=x"] is not valid: "1A=x" is not NAME=value (NAME from A-Z a-z 0-9 _, not starting with a digit)`,
    `cwd: "tmp" is not valid: use an absolute path`,
    `ready: {"tcpPort":0} is not valid: tcpPort: use an integer from 1 to 65535 (the port the command listens on in its namespace)`,
    `stopTimeout: -1 is not valid: use seconds from 0 to 300`,
  ]);
});

test("values unknown in a preview are not judged", async () => {
  assert.equal(await failures(processKind, { netns: UNKNOWN, command: [UNKNOWN, "-x"], env: [UNKNOWN], ready: { tcpPort: UNKNOWN, timeout: UNKNOWN }, owner: owner("preview") }), []);
});

test("a namespace that does not exist fails the create; nothing is left", async () => {
  await rejects(processKind.create(await checked(processKind, { netns: "nope", command: ["sleep", "60"], owner: owner("nons") })), /exited at once with status 255.*\n.*Cannot open network namespace "nope"/);
  assertNoneLeft("nons");
});

test.run();
