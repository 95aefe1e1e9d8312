import { NslabError } from "../errors";
import { NETEM_KEYS, qdiscArgv, type Qdisc } from "../lib/tc";
import { exec, failedWith } from "./exec";
import type { Netns } from "./ip";

// Queueing disciplines (`tc qdisc`) of one device: read, add, change, delete. lib/tc.ts decides
// the qdiscs; this file runs them.

/** One entry of `tc -j qdisc show`. */
export interface QdiscInfo {
  kind: string;
  handle: string;
  root?: boolean;
  parent?: string;
  options?: { rate?: number; rate64?: number };
}

const tcArgv = (netns: Netns, args: readonly string[]) => ["tc", ...(netns ? ["-n", netns] : []), ...args];

/** The qdiscs of a device. Equivalent to: `tc [-n NETNS] -j qdisc show dev DEV`. */
export async function listQdiscs(netns: Netns, device: string): Promise<QdiscInfo[]> {
  const { stdout } = await exec(tcArgv(netns, ["-j", "qdisc", "show", "dev", device]));
  return stdout.trim() ? (JSON.parse(stdout) as QdiscInfo[]) : [];
}

/**
 * Adds the qdiscs in order (the root with `verb`: `add` over the kernel's default root, `replace`
 * over one being adopted). When a later one fails, the root is deleted again.
 */
export async function addQdiscs(netns: Netns, device: string, qdiscs: readonly Qdisc[], verb: "add" | "replace"): Promise<void> {
  for (const [i, q] of qdiscs.entries()) {
    try {
      await run(qdiscArgv(netns, device, i === 0 ? verb : "add", q), q);
    } catch (err) {
      if (i > 0) await delRootQdisc(netns, device, qdiscs[0]!.handle);
      throw err;
    }
  }
}

/** Changes each qdisc's parameters in place. Equivalent to: `tc qdisc change dev DEV <parent> handle H: KIND ARGS`. */
export async function changeQdiscs(netns: Netns, device: string, qdiscs: readonly Qdisc[]): Promise<void> {
  for (const q of qdiscs) await run(qdiscArgv(netns, device, "change", q), q);
}

/**
 * Tells whether the kernel has netem without changing anything the device ends up with: a netem
 * added below the existing root (`parent H:1`), removed at once; it fails, and nothing changed,
 * when the module is missing.
 */
export async function probeNetem(netns: Netns, device: string, parent: Qdisc): Promise<void> {
  const probe: Qdisc = { kind: "netem", parent: `${parent.handle}1`, handle: "fffe:", args: [] };
  await run(qdiscArgv(netns, device, "add", probe), probe);
  await exec(tcArgv(netns, ["qdisc", "del", "dev", device, "parent", probe.parent, "handle", probe.handle]));
}

/**
 * Deletes the root qdisc when its handle is `handle` (the kernel refuses another: "Invalid
 * handle"), which takes its child with it and gives the device back its default qdisc. Resolves
 * when it is already gone, or its device or namespace is.
 * Equivalent to: `tc [-n NETNS] qdisc del dev DEV root handle H:`.
 */
export async function delRootQdisc(netns: Netns, device: string, handle: string): Promise<void> {
  try {
    await exec(tcArgv(netns, ["qdisc", "del", "dev", device, "root", "handle", handle]));
  } catch (err) {
    if (failedWith(err, "NOT_FOUND", "NO_NETNS")) return;
    throw err;
  }
}

async function run(argv: string[], q: Qdisc): Promise<void> {
  try {
    await exec(argv);
  } catch (err) {
    if (failedWith(err, "UNSUPPORTED") && /Specified qdisc kind is unknown/.test((err as Error).message)) throw missingModule(q.kind, err);
    throw err;
  }
}

function missingModule(kind: string, cause: unknown): NslabError {
  const needs = kind === "netem" ? `; ${NETEM_KEYS.join(", ")} need it: leave them out (rate alone needs only tbf) or use a kernel that has it` : "";
  return new NslabError(
    "UNSUPPORTED",
    `this kernel has no ${kind} qdisc: its module sch_${kind} is not built for this kernel or cannot be loaded ` +
      `(load it with: modprobe sch_${kind}; some distributions ship it in an extra package, e.g. Ubuntu's linux-modules-extra-$(uname -r))${needs}\n${(cause as Error).message}`,
    { cause },
  );
}
