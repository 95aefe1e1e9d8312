import "./sandboxed";
import { execFileSync, spawn } from "node:child_process";
import * as assert from "uvu/assert";
import type { Owner } from "../../provider/lib/owner";
import { UNKNOWN } from "../../provider/lib/check";
import type { KindProvider } from "../../provider/lib/kind";

// Helpers for kernel tests. They run inside the sandbox made by test/run.ts; `sh` runs a tool
// directly (argv, no shell) for setting up foreign objects and checking what the kernel holds.

export { UNKNOWN };

export function owner(name: string, stack = "test"): Owner {
  return { project: "nslab-test", stack, path: [name] };
}

/** Runs argv and returns stdout; throws with stderr on failure. */
export function sh(...argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs argv and returns whether it exited 0. */
export function ok(...argv: string[]): boolean {
  try {
    sh(...argv);
    return true;
  } catch {
    return false;
  }
}

/** Runs check and fails the test on any failure; returns the checked inputs. */
export async function checked<I>(p: KindProvider<I, any>, news: Partial<I>): Promise<I> {
  const r = await p.check({} as I, news as I);
  assert.equal(r.failures ?? [], [], "check failures");
  return r.inputs as I;
}

/** Runs create and returns its id and (always present) outputs. */
export async function created<I, O>(p: KindProvider<I, O>, inputs: I): Promise<{ id: string; outs: O }> {
  const r = await p.create(inputs);
  assert.ok(r.outs, "create returns outputs");
  return { id: r.id, outs: r.outs! };
}

/** Runs check and returns the failure reasons. */
export async function failures(p: KindProvider, news: unknown): Promise<string[]> {
  const r = await p.check({}, news);
  return (r.failures ?? []).map((f) => `${f.property}: ${f.reason}`);
}

/** Asserts that the promise rejects with a message matching every pattern; returns the message. */
export async function rejects(p: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  try {
    await p;
  } catch (err) {
    const message = String((err as Error).message ?? err);
    for (const re of patterns) assert.match(message, re);
    return message;
  }
  assert.unreachable("expected a rejection");
  return "";
}

export function ifindexOf(netns: string | undefined, dev: string): number {
  const out = sh("ip", ...(netns ? ["-n", netns] : []), "-j", "link", "show", "dev", dev);
  return (JSON.parse(out) as { ifindex: number }[])[0]!.ifindex;
}

/**
 * Sends `line` over TCP from namespace `fromNs` to a one-shot `nc` listener on address:5000 in
 * `toNs`, and returns what the listener received.
 */
export async function tcpLine(fromNs: string, toNs: string, address: string, line: string): Promise<string> {
  const server = spawn("ip", ["netns", "exec", toNs, "timeout", "5", "nc", "-l", address, "5000"], { stdio: ["ignore", "pipe", "pipe"] });
  let received = "";
  server.stdout.on("data", (d) => (received += d));
  const done = new Promise((r) => server.on("close", r));
  for (let i = 0; ; i++) {
    try {
      execFileSync("ip", ["netns", "exec", fromNs, "nc", "-N", "-w", "2", address, "5000"], { input: line, stdio: ["pipe", "ignore", "ignore"], timeout: 5000 });
      break;
    } catch (err) {
      if (i >= 40) throw err;
      await new Promise((r) => setTimeout(r, 50)); // the listener is not listening yet
    }
  }
  await done;
  return received;
}

/** Namespaces "a" (va 10.0.0.1/24) and "b" (vb 10.0.0.2/24) joined by a veth pair, all up. */
export function addVethLab(): void {
  sh("ip", "netns", "add", "a");
  sh("ip", "netns", "add", "b");
  sh("ip", "-n", "a", "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", "b");
  sh("ip", "-n", "a", "addr", "add", "10.0.0.1/24", "dev", "va");
  sh("ip", "-n", "b", "addr", "add", "10.0.0.2/24", "dev", "vb");
  for (const [ns, dev] of [["a", "va"], ["b", "vb"], ["a", "lo"], ["b", "lo"]]) sh("ip", "-n", ns!, "link", "set", "dev", dev!, "up");
}

/** Removes addVethLab's namespaces (and the veth with them). */
export function delVethLab(): void {
  sh("ip", "netns", "del", "a");
  sh("ip", "netns", "del", "b");
}
