import { CommandError, NslabError, shellQuote } from "../errors";
import { markedFor } from "../lib/conflicts";
import { GroupCommit } from "../lib/groupCommit";
import { chainContent, chainLines, chainName, conflictsIn, foreignRule, jumpRule, notOurChain, parseListing, restoreText, type ChainRead, type Hook, type Rule, type Table } from "./chains";
import { exec, failedWith } from "./exec";
import type { Netns } from "./ip";
import { hostScoped, unscoped } from "./host";
import { where } from "./link";
import { withHostLock } from "./lock";
import { shortHash } from "../lib/names";
import { missingNetnsError } from "./netns";

// iptables through execa: reads with `iptables-save -t TABLE`, every write as one
// `iptables-restore --noflush` batch computed by chains.ts, under a host-wide lock per namespace
// so that two processes (two stacks) never interleave a read and a write (docs/kernel-facts.md, C3, C7).
// iptables has no `-n`: inside a namespace it runs under `ip netns exec NS`.

/** `-w 5`: the legacy backend waits up to 5 s for the xtables lock (docs/kernel-facts.md, "The xtables lock"); exec retries on LOCKED after that. */
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

/** Equivalent to: `[ip netns exec NS] iptables-save -t TABLE` (it has no -w: a read takes no lock). */
export function saveArgv(netns: Netns, table: Table): string[] {
  return inNetns(netns, ["iptables-save", "-t", table]);
}

/** The `iptables-save` text of a table; empty when the table does not exist (legacy backend). */
async function saveTable(netns: Netns, table: Table): Promise<string> {
  try {
    return (await exec(saveArgv(netns, table))).stdout;
  } catch (err) {
    if (failedWith(err, "NOT_FOUND")) return "";
    throw err;
  }
}

/**
 * nslab's chains of these hooks and the jumps to them: one `iptables-save` per table, which costs
 * less than one `-S` of a chain (nft loads the whole table either way; 8 ms against 11 ms with 400
 * rules) and replaces two per hook.
 */
export async function readHooks(netns: Netns, hooks: readonly Hook[]): Promise<ChainRead[]> {
  const tables = [...new Set(hooks.map((h) => h.table))];
  const saved = new Map(await Promise.all(tables.map(async (t) => [t, await saveTable(netns, t)] as const)));
  return hooks.map((hook): ChainRead => {
    const text = saved.get(hook.table)!;
    const declared = (chain: string) => text.split("\n").some((l) => l.startsWith(`:${chain} `));
    const chain = chainName(hook.builtin);
    const jump = jumpRule(hook.builtin);
    const rules = declared(chain) ? parseListing(chain, text) : undefined;
    const foreign = foreignRule(rules);
    const to = new RegExp(`^-A \\S+ .*-j ${chain}( |$)`);
    const foreignJumps = text.split("\n").filter((l) => to.test(l) && l !== `-A ${hook.builtin} ${jump}`).length;
    return { ...hook, rules, jumps: parseListing(hook.builtin, text).filter((b) => b === jump).length, ...(foreign !== undefined ? { foreign } : {}), ...(foreignJumps ? { foreignJumps } : {}) };
  });
}

/** A name of fixed length: a namespace name can be as long as a file name may be. */
function lockName(netns: Netns): string {
  return `iptables-${shortHash([netns ?? ""], 16)}`;
}

/**
 * Makes the rules of owner `hash` in the chains of `hooks` exactly `rules` (none: removes them),
 * leaving every other owner's rules where they are. Under the host lock: read the chains, compute
 * their whole new content, write it in one atomic `iptables-restore --noflush` batch that also
 * ensures exactly one jump per used chain and removes an emptied chain with its jump.
 * Another owner's rule with the same matches as one of our exclusive rules is a CONFLICT, or is
 * taken over (all of that owner's rules in these chains removed) with `adopt`.
 *
 * Changes that arrive while a commit of the namespace runs (the engine runs resources in parallel)
 * are committed together: one read and one restore for all of them (performance.md: one restore of
 * 100 rules costs what 2 single ones do). Should the batch fail, each change is applied alone, so
 * an error belongs to the resource whose change caused it.
 */
export async function setRules(netns: Netns, hash: string, hooks: readonly Hook[], rules: readonly Rule[], adopt = false): Promise<void> {
  try {
    await enqueue(netns, { hash, hooks, rules, adopt });
  } catch (err) {
    if (!netns || !failedWith(err, "NO_NETNS")) throw err;
    throw missingNetnsError("netns", netns, err);
  }
}

interface Change {
  hash: string;
  hooks: readonly Hook[];
  rules: readonly Rule[];
  adopt: boolean;
}

interface Queued extends Change {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The changes of each namespace, committed together under its host lock; settled once the lock
 * is released, so that a caller may exit as soon as its change is done.
 */
const commits = new GroupCommit<Queued>(async (key, batch) => {
  const netns = unscoped(key) || undefined;
  await withHostLock(lockName(netns), () => commit(netns, batch)).then(
    (outcomes) => outcomes.forEach((err, q) => (err === undefined ? q.resolve() : q.reject(err))),
    (err: unknown) => batch.forEach((q) => q.reject(err)),
  );
  return [];
});

function enqueue(netns: Netns, change: Change): Promise<void> {
  return new Promise((resolve, reject) => commits.add(hostScoped(netns ?? ""), { ...change, resolve, reject }));
}

/** Commits a batch; the outcome of each change: undefined when done, else its error. */
async function commit(netns: Netns, batch: readonly Queued[]): Promise<Map<Queued, unknown>> {
  if (batch.length > 1) {
    const outcomes = await rewrite(netns, batch).catch(() => undefined);
    if (outcomes) return outcomes;
  }
  const outcomes = new Map<Queued, unknown>();
  for (const q of batch) outcomes.set(q, await rewrite(netns, [q]).then((o) => o.get(q), (err: unknown) => err));
  return outcomes;
}

/**
 * Applies the changes in order to one read of their chains and writes the result in one restore.
 * A change in conflict fails alone (it is not part of the write); the outcome of each change.
 */
async function rewrite(netns: Netns, changes: readonly Queued[]): Promise<Map<Queued, unknown>> {
  const hooks = [...new Map(changes.flatMap((c) => c.hooks).map((h) => [`${h.table} ${h.builtin}`, h])).values()];
  const reads = await readHooks(netns, hooks);
  const contents = new Map(reads.map((read) => [read, read.rules]));
  const outcomes = new Map<Queued, unknown>();
  for (const c of changes) {
    // A chain of nslab's name made by someone else is never written to nor removed.
    const taken = reads.find((read) => notOurChain(read) && c.rules.some((r) => r.table === read.table && r.builtin === read.builtin));
    if (taken) {
      outcomes.set(c, notOurChainError(netns, taken));
      continue;
    }
    const mine = reads.filter((read) => !notOurChain(read) && c.hooks.some((h) => h.table === read.table && h.builtin === read.builtin));
    const conflicts = mine.map((read) => ({ read, found: conflictsIn({ ...read, rules: contents.get(read) }, c.hash, c.rules) }));
    const conflict = conflicts.find((x) => x.found.length);
    if (conflict && !c.adopt) {
      outcomes.set(c, conflictError(netns, conflict.read, conflict.found[0]!.body));
      continue;
    }
    const drop = new Set(conflicts.flatMap((x) => x.found.map((f) => f.hash)));
    for (const read of mine) {
      const bodies = c.rules.filter((r) => r.table === read.table && r.builtin === read.builtin).map((r) => r.body);
      contents.set(read, chainContent(read, contents.get(read), c.hash, bodies, drop));
    }
    outcomes.set(c, undefined);
  }
  const byTable = new Map<Table, string[]>();
  for (const read of reads) {
    const after = contents.get(read);
    // A hook only changes in conflict touched keeps its content (and its jumps) as they are.
    if (after === read.rules) continue;
    byTable.set(read.table, [...(byTable.get(read.table) ?? []), ...chainLines(read, after ?? [])]);
  }
  const text = restoreText(byTable);
  if (text !== undefined) await exec(restoreArgv(netns), { input: text });
  return outcomes;
}

function conflictError(netns: Netns, read: ChainRead, body: string): NslabError {
  // Never advise deleting what may be this stack's own.
  const hash = /nslab:([0-9a-f]+):/.exec(body)?.[1];
  return new NslabError("CONFLICT", `the rule "${body}" in chain ${chainName(read.builtin)} (table ${read.table}) of ${where(netns)} already does this, ${markedFor(hash)}`);
}

function notOurChainError(netns: Netns, read: ChainRead): NslabError {
  const chain = chainName(read.builtin);
  const what = read.foreign !== undefined ? `holds the rule "${read.foreign}"` : `is jumped to by ${read.foreignJumps} rule(s)`;
  const list = iptablesArgv(netns, ["-t", read.table, "-S"]).map(shellQuote).join(" ");
  return new NslabError(
    "CONFLICT",
    `chain ${chain} (table ${read.table}) of ${where(netns)} exists and was not made by nslab: it has no nslab jump from ${read.builtin} and ${what}. ` +
      `nslab keeps its rules in a chain of that name and will not write into someone else's: rename or remove that chain (see it with: ${list}), then retry.`,
  );
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
 * forward does not keep delivering an established (UDP) flow to its old target (docs/kernel-facts.md, D10).
 * No matching entry, a missing namespace and a missing `conntrack` tool are not errors.
 * Concurrent flushes of a namespace share one listing that starts after they were asked for
 * (`conntrack -L`, ~20 ms like a delete), and only a forward with flows runs its delete.
 * Equivalent to: `[ip netns exec NS] conntrack -D -p P --orig-port-dst N --reply-src A --reply-port-src M`.
 */
export function flushConntrack(netns: Netns, m: ConntrackMatch): Promise<void> {
  return new Promise((resolve, reject) => flushes.add(hostScoped(netns ?? ""), { m, resolve, reject }));
}

interface Flush {
  m: ConntrackMatch;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const flushes = new GroupCommit<Flush>(async (key, batch) => {
  const netns = unscoped(key) || undefined;
  let listing: string;
  try {
    listing = (await exec(inNetns(netns, ["conntrack", "-L"]))).stdout;
  } catch (err) {
    for (const f of batch) failedWith(err, "NO_NETNS", "UNSUPPORTED") ? f.resolve() : f.reject(err);
    return [];
  }
  const flows = parseConntrack(listing);
  await Promise.all(
    batch.map(async (f) => {
      try {
        if (flows.some((flow) => matches(flow, f.m))) await deleteFlows(netns, f.m);
        f.resolve();
      } catch (err) {
        f.reject(err);
      }
    }),
  );
  return [];
});

async function deleteFlows(netns: Netns, m: ConntrackMatch): Promise<void> {
  const argv = inNetns(netns, ["conntrack", "-D", "-p", m.protocol, "--orig-port-dst", String(m.origPortDst), "--reply-src", m.replySrc, "--reply-port-src", String(m.replyPortSrc)]);
  try {
    await exec(argv);
  } catch (err) {
    if (failedWith(err, "NO_NETNS", "UNSUPPORTED")) return;
    if (err instanceof CommandError && /0 flow entries have been deleted/.test(err.stderr)) return;
    throw err;
  }
}

/** A flow as `conntrack -L` prints it: its protocol, then the original and the reply direction. */
export interface Flow {
  protocol: string;
  orig: Record<string, string>;
  reply: Record<string, string>;
}

/**
 * The flows of a `conntrack -L` listing. A line is `PROTO NUM [TIMEOUT] [STATE] key=value...`
 * where src, dst, sport and dport appear twice: the original direction, then the reply.
 */
export function parseConntrack(listing: string): Flow[] {
  return listing
    .split("\n")
    .filter((l) => l.trim())
    .map((line) => {
      const words = line.trim().split(/\s+/);
      const flow: Flow = { protocol: words[0]!, orig: {}, reply: {} };
      for (const w of words) {
        const [k, v] = w.split("=", 2);
        if (v === undefined || !["src", "dst", "sport", "dport"].includes(k!)) continue;
        (k! in flow.orig ? flow.reply : flow.orig)[k!] = v;
      }
      return flow;
    });
}

function matches(flow: Flow, m: ConntrackMatch): boolean {
  return flow.protocol === m.protocol && flow.orig.dport === String(m.origPortDst) && flow.reply.src === m.replySrc && flow.reply.sport === String(m.replyPortSrc);
}
