import { CommandError, NslabError, shellQuote } from "../errors";
import { chainContent, chainLines, chainName, conflictsIn, jumpRule, parseListing, restoreText, type ChainRead, type Hook, type Rule, type Table } from "./chains";
import { exec, failedWith } from "./exec";
import type { Netns } from "./ip";
import { where } from "./link";
import { withHostLock } from "./lock";
import { missingNetnsError } from "./netns";

// iptables through execa: reads with `iptables -S CHAIN`, every write as one
// `iptables-restore --noflush` batch computed by chains.ts, under a host-wide lock per namespace
// so that two processes (two stacks) never interleave a read and a write (kernel-facts C3, C7).
// iptables has no `-n`: inside a namespace it runs under `ip netns exec NS`.

/** `-w 5`: the legacy backend waits up to 5 s for the xtables lock (§2.10); exec retries on LOCKED after that. */
const WAIT = ["-w", "5"];

function inNetns(netns: Netns, argv: readonly string[]): string[] {
  return [...(netns ? ["ip", "netns", "exec", netns] : []), ...argv];
}

/** Equivalent to: `[ip netns exec NS] iptables -w 5 ARGS`. */
export function iptablesArgv(netns: Netns, args: readonly string[]): string[] {
  return inNetns(netns, ["iptables", ...WAIT, ...args]);
}

/** Equivalent to: `[ip netns exec NS] iptables-restore -w 5 --noflush`. */
export function restoreArgv(netns: Netns): string[] {
  return inNetns(netns, ["iptables-restore", ...WAIT, "--noflush"]);
}

/**
 * The rule bodies of a chain, or undefined when it does not exist.
 * Equivalent to: `[ip netns exec NS] iptables -w 5 -t TABLE -S CHAIN`.
 */
export async function listChain(netns: Netns, table: Table, chain: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await exec(iptablesArgv(netns, ["-t", table, "-S", chain]));
    return parseListing(chain, stdout);
  } catch (err) {
    if (failedWith(err, "NOT_FOUND")) return undefined;
    throw err;
  }
}

/** nslab's chains of these hooks and the jumps to them, read in parallel. */
export async function readHooks(netns: Netns, hooks: readonly Hook[]): Promise<ChainRead[]> {
  return Promise.all(
    hooks.map(async (hook): Promise<ChainRead> => {
      const [rules, builtin] = await Promise.all([listChain(netns, hook.table, chainName(hook.builtin)), listChain(netns, hook.table, hook.builtin)]);
      const jump = jumpRule(hook.builtin);
      return { ...hook, rules, jumps: (builtin ?? []).filter((b) => b === jump).length };
    }),
  );
}

function lockName(netns: Netns): string {
  return `iptables@${netns ?? "-"}`;
}

/**
 * Makes the rules of owner `hash` in the chains of `hooks` exactly `rules` (none: removes them),
 * leaving every other owner's rules where they are. Under the host lock: read the chains, compute
 * their whole new content, write it in one atomic `iptables-restore --noflush` batch that also
 * ensures exactly one jump per used chain and removes an emptied chain with its jump.
 * Another owner's rule with the same matches as one of our exclusive rules is a CONFLICT, or is
 * taken over (all of that owner's rules in these chains removed) with `adopt`.
 */
export async function setRules(netns: Netns, hash: string, hooks: readonly Hook[], rules: readonly Rule[], adopt = false): Promise<void> {
  try {
    await withHostLock(lockName(netns), () => rewrite(netns, hash, hooks, rules, adopt));
  } catch (err) {
    if (!netns || !failedWith(err, "NO_NETNS")) throw err;
    throw missingNetnsError("netns", netns, err);
  }
}

async function rewrite(netns: Netns, hash: string, hooks: readonly Hook[], rules: readonly Rule[], adopt: boolean): Promise<void> {
  const reads = await readHooks(netns, hooks);
  const conflicts = reads.flatMap((read) => conflictsIn(read, hash, rules).map((c) => ({ ...c, read })));
  if (conflicts.length && !adopt) {
    const { body, read } = conflicts[0]!;
    const remove = iptablesArgv(netns, ["-t", read.table, "-D", chainName(read.builtin)]).map(shellQuote).join(" ");
    throw new NslabError(
      "CONFLICT",
      `the rule "${body}" in chain ${chainName(read.builtin)} (table ${read.table}) of ${where(netns)} already does this for another nslab resource or stack. ` +
        `Remove that resource, or remove the rule with: ${remove} ${body}, or set adopt: true to take it over.`,
    );
  }
  const drop = new Set(conflicts.map((c) => c.hash));
  const byTable = new Map<Table, string[]>();
  for (const read of reads) {
    const mine = rules.filter((r) => r.table === read.table && r.builtin === read.builtin).map((r) => r.body);
    const lines = chainLines(read, chainContent(read, read.rules, hash, mine, drop));
    byTable.set(read.table, [...(byTable.get(read.table) ?? []), ...lines]);
  }
  const text = restoreText(byTable);
  if (text !== undefined) await exec(restoreArgv(netns), { input: text });
}

/** Removes every rule of owner `hash` from the chains of `hooks`; resolves when they (or the namespace) are gone. */
export async function removeRules(netns: Netns, hash: string, hooks: readonly Hook[]): Promise<void> {
  try {
    await setRules(netns, hash, hooks, []);
  } catch (err) {
    if (!failedWith(err, "NO_NETNS")) throw err;
  }
}

/** What a read finds of these hooks, or undefined when the namespace is gone. */
export async function findHooks(netns: Netns, hooks: readonly Hook[]): Promise<ChainRead[] | undefined> {
  try {
    return await readHooks(netns, hooks);
  } catch (err) {
    if (failedWith(err, "NO_NETNS")) return undefined;
    throw err;
  }
}

export interface ConntrackMatch {
  protocol: "tcp" | "udp";
  /** The port the flows were sent to (before DNAT). */
  origPortDst: number;
  /** The address and port they were DNATed to. */
  replySrc: string;
  replyPortSrc: number;
}

/**
 * Deletes the connection-tracking entries of flows DNATed to a target, so that a replaced port
 * forward does not keep delivering an established (UDP) flow to its old target (kernel-facts D10).
 * No matching entry, a missing namespace and a missing `conntrack` tool are not errors.
 * Equivalent to: `[ip netns exec NS] conntrack -D -p P --orig-port-dst N --reply-src A --reply-port-src M`.
 */
export async function flushConntrack(netns: Netns, m: ConntrackMatch): Promise<void> {
  const argv = inNetns(netns, ["conntrack", "-D", "-p", m.protocol, "--orig-port-dst", String(m.origPortDst), "--reply-src", m.replySrc, "--reply-port-src", String(m.replyPortSrc)]);
  try {
    await exec(argv);
  } catch (err) {
    if (failedWith(err, "NO_NETNS", "UNSUPPORTED")) return;
    if (err instanceof CommandError && /0 flow entries have been deleted/.test(err.stderr)) return;
    throw err;
  }
}
