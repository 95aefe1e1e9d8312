import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { exec, runOnce } from "../../provider/driver/exec";
import { pidNamespace } from "../../provider/driver/lock";
import { rejects } from "../helpers/kernel";

// Commands are started by nslab's spawner, one long-lived bash (provider/driver/exec.ts): each
// still runs as its own process with exactly its argv, its own stdin, stdout, stderr and status.

const test = suite("exec through the spawner");

test("every argv word arrives unchanged, never through a shell", async () => {
  const words = ["a b", "it's", 'say "x"', "$HOME", "`id`", "x\ny", "", "*", "a\\b", "é"];
  const { stdout } = await exec(["printf", "%s|", ...words]);
  assert.is(stdout, words.map((w) => `${w}|`).join(""));
});

test("input goes to the command's stdin; without input stdin is empty", async () => {
  assert.is((await exec(["cat"], { input: "one\ntwo\n" })).stdout, "one\ntwo");
  assert.is((await exec(["cat"])).stdout, "");
});

test("concurrent commands each get their own output and status", async () => {
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => runOnce(["sh", "-c", `echo out${i}; echo err${i} >&2; exit ${i % 3}`])));
  results.forEach((r, i) => assert.equal([r.stdout, r.stderr, r.exitCode], [`out${i}`, `err${i}`, i % 3], `command ${i}`));
});

// What a spawner that reaps its commands itself gets wrong (bash's `wait -n` sleeps through a job
// that ends as it starts to wait, drops one killed by a signal): commands that end before bash has
// recorded them, hundreds ending at once, killed by signals, reading stdin. A lost report hangs
// the test (the runner's timeout fails it); a misrouted one gives a command another's status.
test("hundreds of commands ending at once each get exactly their own status, killed ones 128+N", async () => {
  const kinds: ((i: number) => { argv: string[]; status: number; out: string; input?: string })[] = [
    (i) => ({ argv: ["sh", "-c", `exit ${i % 200}`], status: i % 200, out: "" }),
    () => ({ argv: ["false"], status: 1, out: "" }),
    () => ({ argv: ["sh", "-c", "kill -KILL $$"], status: 137, out: "" }),
    () => ({ argv: ["sh", "-c", "kill -SEGV $$"], status: 139, out: "" }),
    (i) => ({ argv: ["cat"], input: `in${i}`, status: 0, out: `in${i}` }),
  ];
  const want = Array.from({ length: 1000 }, (_, i) => kinds[i % kinds.length]!(i));
  const got = await Promise.all(want.map((w) => runOnce(w.argv, w.input)));
  got.forEach((r, i) => assert.equal([r.exitCode, r.stdout, r.stderr], [want[i]!.status, want[i]!.out, ""], `command ${i}: ${want[i]!.argv.join(" ")}`));
});

test("a command killed by a signal (as a timeout kills) leaves no job notice of bash on nslab's stderr", () => {
  const script = `require("./provider/driver/exec.ts").runOnce(["sh", "-c", "kill -KILL $$"]).then((r) => console.log(r.exitCode))`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8", timeout: 20_000 });
  assert.equal([r.stdout.trim(), r.stderr], ["137", ""]);
});

test("the spawner reads no ~/.bashrc, even started without SHLVL (bash takes Node's socket stdin for sshd's), nor $BASH_ENV", () => {
  const home = fs.mkdtempSync("/tmp/nslab-home-");
  fs.writeFileSync(`${home}/.bashrc`, `echo bashrc >&2; touch ${home}/ran`);
  const script = `require("./provider/driver/exec.ts").runOnce(["true"]).then((r) => console.log(r.exitCode))`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8", timeout: 20_000, env: { PATH: process.env.PATH, HOME: home, BASH_ENV: `${home}/.bashrc` } });
  assert.equal([r.stdout.trim(), r.stderr, fs.existsSync(`${home}/ran`)], ["0", "", false]);
  fs.rmSync(home, { recursive: true });
});

test("a failure shows the exact argv and stderr; a missing program says what to install", async () => {
  await rejects(exec(["ls", "/nonexistent dir"]), /command failed \(exit 2\):\n  \$ ls '\/nonexistent dir'\n  ls: cannot access '\/nonexistent dir': No such file or directory/);
  const err = await exec(["nslab-no-such-tool", "x"]).catch((e: Error & { code: string }) => e);
  assert.is((err as { code: string }).code, "UNSUPPORTED");
  assert.match((err as Error).message, /nslab-no-such-tool: command not found; install it/);
});

test("concurrent first commands share one spawner, and an idle spawner does not keep Node running", () => {
  const script = [
    `const { exec } = require("./provider/driver/exec.ts");`,
    `Promise.all(Array.from({ length: 10 }, () => exec(["true"]))).then(() =>`,
    `  console.log(require("node:child_process").execFileSync("pgrep", ["-c", "-P", String(process.pid), "bash"], { encoding: "utf8" }).trim()));`,
  ].join("\n");
  const out = execFileSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8", timeout: 20_000 });
  assert.is(out.trim(), "1", "one bash");
});

test("a spawner's directory goes when its Node process is gone, even killed with SIGKILL", async () => {
  const ns = pidNamespace();
  const orphan = `/dev/shm/nslab-ns${ns}-999999999-test`; // no such pid: Linux pids stay below 2^22
  fs.mkdirSync(orphan, { recursive: true });
  fs.writeFileSync(`${orphan}/1.out`, "left by a killed spawner");
  const script = `require("./provider/driver/exec.ts").exec(["true"]).then(() => console.log(require("node:fs").readdirSync("/dev/shm").filter((n) => n.startsWith(\`nslab-ns${ns}-\${process.pid}-\`)).length))`;
  assert.is(execFileSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8", timeout: 20_000 }).trim(), "1", "its own directory while it runs");
  assert.not.ok(fs.existsSync(orphan), "the orphan was removed when a spawner started");
  // The child's bash removes its directory once Node's end closes its stdin: soon after.
  const orphans = () => fs.readdirSync("/dev/shm").filter((n) => n.startsWith(`nslab-ns${ns}-`) && !fs.existsSync(`/proc/${n.split("-")[2]}`));
  for (let i = 0; i < 50 && orphans().length; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(orphans(), [], "and the child's went with it");
});

test.run();
