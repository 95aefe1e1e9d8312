import { cidrProblem, contains, formatCidr, hasHostBits, ipProblem, isLimitedBroadcast, isMulticast, isUnspecified, networkCidr, parseCidr, parseIp } from "../lib/cidr";
import { ruleComment } from "./marks";

// nslab's iptables layout, as pure functions (docs/kernel-facts.md, "iptables", "iptables-restore --noflush"; docs/design.md, "iptables rules live in nslab's own chains"). nslab never writes
// into a built-in chain except one jump per chain it uses: its rules live in its own chains,
// NSLAB-<BUILTIN> in the table of that built-in chain, shared by every nslab resource and stack
// in the namespace. A change rewrites a whole chain from what `iptables -S` printed plus the
// changed resource's rules, in one `iptables-restore --noflush` batch; an emptied chain is removed
// with its jump in the same batch. Rules are generated exactly as `iptables -S` prints them (the
// same on the nft and legacy backends), so a read compares text with text.

export type Table = "nat" | "filter";
export type Builtin = "PREROUTING" | "INPUT" | "FORWARD" | "OUTPUT" | "POSTROUTING";

/** One of nslab's chains: a built-in chain of a table, and the NSLAB chain it jumps to. */
export interface Hook {
  table: Table;
  builtin: Builtin;
}

/** A rule in one of nslab's chains. */
export interface Rule extends Hook {
  /** The rule after `-A <chain> `, exactly as `iptables -S` prints it. */
  body: string;
  /** Another owner's rule with the same matches in the same chain is a conflict (one target per match). */
  exclusive?: boolean;
}

/** iptables refuses chain names of 29 characters or more, with spaces, or starting with "-" (B19). */
export const CHAIN_NAME = /^NSLAB-[A-Z]{1,22}$/;

/** nslab's chain jumped to from `builtin` (one per table and built-in chain, in every namespace). */
export function chainName(builtin: Builtin): string {
  return `NSLAB-${builtin}`;
}

/** Comment of the jump rule in a built-in chain (not owned by one resource: shared by all). */
export const JUMP_COMMENT = "nslab:jump";
/** Comment of the implicit first rule of nslab's filter chains. */
export const ESTABLISHED_COMMENT = "nslab:established";
/** Every filter chain of nslab begins with it, so replies of allowed connections pass. */
export const ESTABLISHED_RULE = `-m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "${ESTABLISHED_COMMENT}" -j ACCEPT`;

export function jumpRule(builtin: Builtin): string {
  return `-m comment --comment "${JUMP_COMMENT}" -j ${chainName(builtin)}`;
}

// ---- comments ----------------------------------------------------------------------------------

/** Characters a name keeps as they are in a comment; every other is written %XX per UTF-8 byte. */
const SAFE_CHAR = /^[A-Za-z0-9_.-]$/;
/** Room for the encoded name: the comment stays far below iptables' 255 bytes (B18). */
const NAME_ROOM = 64;

/**
 * The name as ASCII safe in a comment (no space, quote, backslash or newline: B18), reversible
 * (%XX per UTF-8 byte) so that ties in priority are broken by the real name; cut at 64 characters,
 * never inside a character.
 */
export function encodeName(name: string): string {
  let out = "";
  for (const ch of name) {
    const piece = SAFE_CHAR.test(ch) ? ch : [...Buffer.from(ch, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
    if (out.length + piece.length > NAME_ROOM) break;
    out += piece;
  }
  return out;
}

export function decodeName(encoded: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === "%" && /^[0-9A-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(encoded.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

/** Tag of a FirewallRule's comment: its priority and name, so any process can sort the chain. */
export function firewallTag(priority: number, name: string): string {
  return `fw:${priority}:${encodeName(name)}`;
}

/** The comment text of a rule body as `iptables -S` prints it (always double-quoted). */
export function commentOf(body: string): string | undefined {
  const m = / -m comment --comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(` ${body}`);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2];
}

export interface Owned {
  hash: string;
  tag: string;
}

/** The owner hash and tag of an nslab comment (`ruleComment`), or undefined for any other. */
export function parseComment(comment: string | undefined): Owned | undefined {
  const m = /^nslab:([0-9a-f]{12}):(.+)$/.exec(comment ?? "");
  return m ? { hash: m[1]!, tag: m[2]! } : undefined;
}

/** What is read from a rule body: its owner, and, once asked for, its matches and sort key. */
interface Parsed {
  owned: Owned | undefined;
  matches?: string;
  key?: SortKey;
}

const parsed = new Map<string, Parsed>();

/**
 * A rule body parsed, remembered by body: a chain's rules are looked at again at each change of
 * it, so a run that makes or deletes N rules of a chain parsed ~N² of them (the top of a destroy's
 * profile with 200 PortForwards; at 1000, of an up's: its owner, matches and sort key remembered
 * too, the engine's CPU in `up --skip-preview` of the bench's star went 8.84/8.88 -> 8.02/7.45 s).
 * Cleared when large.
 */
function parsedOf(body: string): Parsed {
  let p = parsed.get(body);
  if (p) return p;
  if (parsed.size >= 100_000) parsed.clear();
  p = { owned: parseComment(commentOf(body)) };
  parsed.set(body, p);
  return p;
}

/** The owner of a rule body (its nslab comment). */
const ruleOwner = (body: string): Owned | undefined => parsedOf(body).owned;

/** The matches of a rule: everything before its comment (or before its target). */
export function matchesOf(body: string): string {
  const at = ` ${body}`.search(/ -m comment --comment | -j /);
  return at < 0 ? body : ` ${body}`.slice(1, at);
}

// ---- rule text of the kinds --------------------------------------------------------------------

/** `-s`/`-d` as iptables prints them: a bare address is /32, and 0.0.0.0/0 is no match at all. */
function addressMatch(flag: "-s" | "-d", value: string | undefined): string[] {
  if (value === undefined) return [];
  const cidr = value.includes("/") ? value : `${value}/32`;
  return cidr === "0.0.0.0/0" ? [] : [flag, cidr];
}

function comment(text: string): string[] {
  return ["-m", "comment", "--comment", `"${text}"`];
}

/** A port or range as iptables prints it ("80:80" is printed "80"). */
export function portText(port: number | string): string {
  const [from, to] = String(port).split(":");
  return to === undefined || to === from ? from! : `${from}:${to}`;
}

export interface NatSpec {
  source: string;
  outInterface?: string;
  notOutInterface?: string;
  toSource?: string;
}

/** NatRule: SNAT/MASQUERADE in POSTROUTING, and an accept for the same traffic in FORWARD. */
export function natRules(spec: NatSpec, text: string): Rule[] {
  const matches = [
    ...addressMatch("-s", spec.source),
    ...(spec.outInterface !== undefined ? ["-o", spec.outInterface] : []),
    ...(spec.notOutInterface !== undefined ? ["!", "-o", spec.notOutInterface] : []),
  ];
  const target = spec.toSource !== undefined ? ["-j", "SNAT", "--to-source", spec.toSource] : ["-j", "MASQUERADE"];
  return [
    { table: "nat", builtin: "POSTROUTING", body: [...matches, ...comment(text), ...target].join(" "), exclusive: true },
    { table: "filter", builtin: "FORWARD", body: [...matches, ...comment(text), "-j", "ACCEPT"].join(" ") },
  ];
}

export interface PortForwardSpec {
  protocol: "tcp" | "udp";
  hostPort: number;
  toAddress: string;
  toPort: number;
  hostAddress?: string;
  inInterface?: string;
}

/** Traffic to loopback addresses cannot be forwarded: it would leave with a loopback source. */
export const LOOPBACK = "127.0.0.0/8";

/**
 * PortForward: DNAT in PREROUTING (traffic from outside) and in OUTPUT (traffic the host sends,
 * unless an input interface is required), to a local address only when no hostAddress is given
 * (never all outgoing traffic to that port), and an accept in FORWARD for what was DNATed.
 */
export function portForwardRules(spec: PortForwardSpec, text: string): Rule[] {
  const { protocol: p } = spec;
  const local = spec.hostAddress === undefined ? ["-m", "addrtype", "--dst-type", "LOCAL"] : [];
  const dport = ["-m", p, "--dport", String(spec.hostPort)];
  const dnat = [...comment(text), "-j", "DNAT", "--to-destination", `${spec.toAddress}:${spec.toPort}`];
  const inIf = spec.inInterface !== undefined ? ["-i", spec.inInterface] : [];
  const rules: Rule[] = [
    { table: "nat", builtin: "PREROUTING", body: [...addressMatch("-d", spec.hostAddress), ...inIf, "-p", p, ...local, ...dport, ...dnat].join(" "), exclusive: true },
  ];
  if (spec.inInterface === undefined) {
    const dst = spec.hostAddress === undefined ? ["!", "-d", LOOPBACK] : addressMatch("-d", spec.hostAddress);
    rules.push({ table: "nat", builtin: "OUTPUT", body: [...dst, "-p", p, ...local, ...dport, ...dnat].join(" "), exclusive: true });
  }
  const forward = [...addressMatch("-d", spec.toAddress), ...inIf, "-p", p, "-m", p, "--dport", String(spec.toPort), "-m", "conntrack", "--ctstate", "DNAT"];
  rules.push({ table: "filter", builtin: "FORWARD", body: [...forward, ...comment(text), "-j", "ACCEPT"].join(" ") });
  return rules;
}

export type FirewallChain = "forward" | "input" | "output";

/** Connection states a FirewallRule matches, in the order `iptables -S` prints them. */
export const CONNECTION_STATES = ["invalid", "new", "related", "established"] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

export interface FirewallSpec {
  action: "accept" | "drop" | "reject";
  chain: FirewallChain;
  source?: string;
  destination?: string;
  inInterface?: string;
  outInterface?: string;
  protocol?: "tcp" | "udp" | "icmp" | "all";
  destinationPort?: number | string;
  /** Connection states matched (any order; printed in iptables' order). */
  state?: readonly ConnectionState[];
}

const TARGET: Record<FirewallSpec["action"], string[]> = {
  accept: ["-j", "ACCEPT"],
  drop: ["-j", "DROP"],
  reject: ["-j", "REJECT", "--reject-with", "icmp-port-unreachable"],
};

/** FirewallRule: one rule in nslab's filter chain of its built-in chain. */
export function firewallRules(spec: FirewallSpec, text: string): Rule[] {
  const proto = spec.protocol !== undefined && spec.protocol !== "all" ? spec.protocol : undefined;
  const body = [
    ...addressMatch("-s", spec.source),
    ...addressMatch("-d", spec.destination),
    ...(spec.inInterface !== undefined ? ["-i", spec.inInterface] : []),
    ...(spec.outInterface !== undefined ? ["-o", spec.outInterface] : []),
    ...(proto ? ["-p", proto] : []),
    ...(proto && spec.destinationPort !== undefined ? ["-m", proto, "--dport", portText(spec.destinationPort)] : []),
    ...(spec.state?.length ? ["-m", "conntrack", "--ctstate", CONNECTION_STATES.filter((x) => spec.state!.includes(x)).join(",").toUpperCase()] : []),
    ...comment(text),
    ...TARGET[spec.action],
  ];
  return [{ table: "filter", builtin: spec.chain.toUpperCase() as Builtin, body: body.join(" ") }];
}

// ---- chain content and restore batches ---------------------------------------------------------

/** What a read found of one hook: nslab's chain (undefined when absent) and the jumps to it. */
export interface ChainRead extends Hook {
  /** Rule bodies of nslab's chain in order, or undefined when the chain does not exist. */
  rules: string[] | undefined;
  /** How many copies of nslab's jump the built-in chain holds. */
  jumps: number;
  /** The first rule in nslab's chain that no nslab resource wrote, if any. */
  foreign?: string;
  /** How many rules elsewhere in the table jump to nslab's chain (not nslab's jump). */
  foreignJumps?: number;
}

/** The first rule of a chain that is neither an owner's nor the implicit established-accept. */
export function foreignRule(rules: readonly string[] | undefined): string | undefined {
  return rules?.find((b) => b !== ESTABLISHED_RULE && ruleOwner(b) === undefined);
}

/**
 * Whether nslab's chain of this hook was made by someone else: it exists without nslab's jump and
 * holds a rule nslab did not write, or other rules jump to it. nslab never writes to it, nor
 * deletes it (an nslab chain always has its jump: it is created and removed with it).
 */
export function notOurChain(read: ChainRead): boolean {
  return read.rules !== undefined && read.jumps === 0 && (read.foreign !== undefined || (read.foreignJumps ?? 0) > 0);
}

/** Rule bodies of chain `chain` in `iptables -S CHAIN` output. */
export function parseListing(chain: string, listing: string): string[] {
  const prefix = `-A ${chain} `;
  return listing
    .split("\n")
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

/** The bodies owned by `hash` in a chain. */
export function ownedBy(rules: readonly string[] | undefined, hash: string): string[] {
  return (rules ?? []).filter((b) => ruleOwner(b)?.hash === hash);
}

/**
 * The accepts of PortForwards (what was DNATed to a published port) are matched as FirewallRules
 * of this priority placed after the FirewallRules of equal priority: a rule at the default
 * priority (100) or lower decides before them (it can close a published port); a "drop the rest"
 * rule of a higher priority (e.g. 1000) leaves published ports reachable.
 */
export const PORT_FORWARD_PRIORITY = 100;
/** The tag of a PortForward's comment. */
export const PORT_FORWARD_TAG = "pf";

interface SortKey {
  group: number;
  priority: number;
  /** Among equal priorities: FirewallRules (0) before PortForward accepts (1). */
  rank: number;
  name: Buffer;
  hash: string;
  tag: string;
}

function sortKey(body: string): SortKey {
  const owned = ruleOwner(body)!;
  const fw = /^fw:(\d+):(.*)$/.exec(owned.tag);
  if (fw) return { group: 0, priority: Number(fw[1]), rank: 0, name: decodeName(fw[2]!), hash: owned.hash, tag: owned.tag };
  const none = Buffer.alloc(0);
  return owned.tag === PORT_FORWARD_TAG
    ? { group: 0, priority: PORT_FORWARD_PRIORITY, rank: 1, name: none, hash: owned.hash, tag: owned.tag }
    : { group: 1, priority: 0, rank: 0, name: none, hash: owned.hash, tag: owned.tag };
}

/**
 * The order of a chain: FirewallRules by priority, then name, then owner, with the accepts of
 * PortForwards at priority PORT_FORWARD_PRIORITY after the rules of that priority; after them
 * the accepts of NatRules (a FirewallRule is the explicit policy, so it decides before them).
 * Each body's key is computed once (keyOf), not at each comparison.
 */
function sortRules(bodies: string[]): string[] {
  return bodies.sort((a, b) => compareKeys(keyOf(a), keyOf(b), a, b));
}

/** The sort key of a body, remembered with it. */
function keyOf(body: string): SortKey {
  const p = parsedOf(body);
  p.key ??= sortKey(body);
  return p.key;
}

function compareKeys(x: SortKey, y: SortKey, a: string, b: string): number {
  return (
    x.group - y.group ||
    x.priority - y.priority ||
    x.rank - y.rank ||
    Buffer.compare(x.name, y.name) ||
    (x.hash < y.hash ? -1 : x.hash > y.hash ? 1 : 0) ||
    (x.tag < y.tag ? -1 : x.tag > y.tag ? 1 : 0) ||
    (a < b ? -1 : a > b ? 1 : 0)
  );
}

/**
 * The new content of nslab's chain: the other owners' rules (except those of `drop`, taken over),
 * then `mine`, sorted; the implicit established-accept first in filter chains; empty when no
 * owned rule is left. Rules in our chain without an nslab comment are not kept (docs/kernel-facts.md, D8:
 * a full rewrite removes what others added to our chains).
 */
export function chainContent(hook: Hook, current: readonly string[] | undefined, hash: string, mine: readonly string[], drop: ReadonlySet<string> = new Set()): string[] {
  const others = (current ?? []).filter((b) => {
    const owner = ruleOwner(b)?.hash;
    return owner !== undefined && owner !== hash && !drop.has(owner);
  });
  const owned = sortRules([...others, ...mine]);
  if (owned.length === 0) return [];
  return hook.table === "filter" ? [ESTABLISHED_RULE, ...owned] : owned;
}

/** Other owners' rules that have the same matches as one of our exclusive rules in this chain. */
export function conflictsIn(read: ChainRead, hash: string, mine: readonly Rule[]): { body: string; hash: string }[] {
  const ours = new Set(mine.filter((r) => r.exclusive && r.table === read.table && r.builtin === read.builtin).map((r) => matchesOf(r.body)));
  const found: { body: string; hash: string }[] = [];
  if (ours.size === 0) return found;
  for (const body of read.rules ?? []) {
    const p = parsedOf(body);
    const owner = p.owned?.hash;
    if (owner === undefined || owner === hash) continue;
    p.matches ??= matchesOf(body);
    if (ours.has(p.matches)) found.push({ body, hash: owner });
  }
  return found;
}

/** Restore lines that turn what was read into `after` (empty when nothing changes). */
export function chainLines(read: ChainRead, after: readonly string[]): string[] {
  const chain = chainName(read.builtin);
  const jump = jumpRule(read.builtin);
  const lines: string[] = [];
  if (after.length === 0) {
    // docs/kernel-facts.md, "iptables-restore --noflush" item 6: the jump goes first, then the chain can be flushed and deleted, atomically.
    for (let i = 0; i < read.jumps; i++) lines.push(`-D ${read.builtin} ${jump}`);
    if (read.rules !== undefined) lines.push(`:${chain} - [0:0]`, `-X ${chain}`);
    return lines;
  }
  if (read.rules === undefined || read.rules.join("\n") !== after.join("\n")) {
    // `:CHAIN - [0:0]` creates the chain or replaces its whole content (the same, items 1 and 11).
    const edits = read.rules && chainEdits(chain, read.rules, after);
    lines.push(...(edits ?? [`:${chain} - [0:0]`, ...after.map((b) => `-A ${chain} ${b}`)]));
  }
  if (read.jumps === 0) lines.push(`-I ${read.builtin} 1 ${jump}`);
  for (let i = 1; i < read.jumps; i++) lines.push(`-D ${read.builtin} ${jump}`);
  return lines;
}

/**
 * The positional edits that turn `before` into `after` when the rules both keep stay in the same
 * order (what chainContent's sorted merges give): deletes by position from the end, then inserts
 * at their final positions in ascending order. A restore of a few edits costs far less than one
 * that rewrites a chain of hundreds of rules (the restore is atomic and runs under the lock that
 * covered the read, so positions are exact). Undefined when a rewrite is needed: a body appears
 * twice, or the kept rules changed order.
 */
export function chainEdits(chain: string, before: readonly string[], after: readonly string[]): string[] | undefined {
  const was = new Set(before);
  const now = new Set(after);
  if (was.size !== before.length || now.size !== after.length) return undefined;
  const kept = (xs: readonly string[], other: Set<string>) => xs.filter((b) => other.has(b)).join("\n");
  if (kept(before, now) !== kept(after, was)) return undefined;
  const deletes = before.flatMap((b, i) => (now.has(b) ? [] : [`-D ${chain} ${i + 1}`])).reverse();
  const inserts = after.flatMap((b, i) => (was.has(b) ? [] : [`-I ${chain} ${i + 1} ${b}`]));
  return [...deletes, ...inserts];
}

/** One `iptables-restore --noflush` input for the lines of each table, or undefined when there are none. */
export function restoreText(byTable: ReadonlyMap<Table, readonly string[]>): string | undefined {
  let text = "";
  for (const [table, lines] of byTable) if (lines.length) text += `*${table}\n${lines.join("\n")}\nCOMMIT\n`;
  return text || undefined;
}

/**
 * Whether the owner's rules are all in place: in each hook exactly the expected bodies, the chain
 * present and jumped to (docs/kernel-facts.md, D7: a flushed chain, a removed jump or a flushed
 * table), and no rule of someone else's in it (D8: the next write of the chain removes it).
 */
export function rulesIntact(reads: readonly ChainRead[], hash: string, expected: readonly Rule[]): boolean {
  return reads.every((read) => {
    const want = expected.filter((r) => r.table === read.table && r.builtin === read.builtin).map((r) => r.body);
    const have = ownedBy(read.rules, hash);
    if (want.length === 0) return have.length === 0;
    // A rule someone else put in our chain can change what ours do (a DROP above a port forward's accept).
    return read.jumps > 0 && read.foreign === undefined && [...have].sort().join("\n") === [...want].sort().join("\n");
  });
}

/** The comment of an owner's rules (`ruleComment`, checked ASCII-safe here: B18). */
export function ownerComment(hash: string, tag: string): string {
  const text = ruleComment(hash, tag);
  if (!/^[\x21-\x7e]{1,255}$/.test(text) || /["'\\]/.test(text)) throw new Error(`unsafe iptables comment ${JSON.stringify(text)}`);
  return text;
}

// ---- input validation shared by the iptables kinds ---------------------------------------------

/** Why `value` is not a usable port (1-65535), or undefined. */
export function portProblem(value: unknown): string | undefined {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535 ? undefined : "use an integer port from 1 to 65535";
}

/** Why `value` is not a port or a "from:to" range (B16), or undefined. */
export function portOrRangeProblem(value: unknown): string | undefined {
  if (typeof value === "number") return portProblem(value);
  const m = typeof value === "string" ? /^([1-9]\d{0,4}):([1-9]\d{0,4})$/.exec(value) : null;
  if (!m) return `use a port number (1-65535) or a range "from:to" such as "8000:8080"`;
  const [from, to] = [Number(m[1]), Number(m[2])];
  if (from > 65535 || to > 65535) return "ports go from 1 to 65535";
  if (from > to) return `the range is reversed; use "${to}:${from}"`;
  return undefined;
}

const IPV6 = "IPv6 is not supported here: nslab writes these rules with iptables, which is IPv4 only; use an IPv4 address";
const HOSTNAME = /^(?=[^/]*[A-Za-z])[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?(\/[0-9]*)?$/;
/** What `ip`/iptables would read as a number (hex or decimal parts), not as a host name. */
const NUMERIC = /^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+))*(\/.*)?$/i;

/** Shared refusals: not a string, IPv6, a host name (iptables would resolve it through DNS: B17). */
function literalProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return `use a string such as "10.0.0.1"`;
  if (/^[0-9.]+:[0-9]*$/.test(value)) return `give the address alone, without ":port" (the port has its own property)`;
  if (value.includes(":")) return IPV6;
  if (HOSTNAME.test(value) && !NUMERIC.test(value)) return `host names are refused (iptables would resolve them through DNS at every change); use an IPv4 address literal such as "10.0.0.1"`;
  return undefined;
}

/** Why `value` is not a canonical IPv4 address literal (no prefix), or undefined. */
export function ipv4Problem(value: unknown): string | undefined {
  return literalProblem(value) ?? ipProblem(value as string);
}

/**
 * Why `value` is not a canonical IPv4 network "a.b.c.d/n" without host bits, or undefined; with
 * `address: true` a bare address (one host, /32) is accepted too.
 */
export function ipv4NetworkProblem(value: unknown, address = false): string | undefined {
  const bad = literalProblem(value);
  if (bad) return bad;
  const text = value as string;
  if (address && !text.includes("/")) return ipProblem(text);
  const problem = cidrProblem(text);
  if (problem) return problem;
  const cidr = parseCidr(text)!;
  return hasHostBits(cidr) ? `it has host bits set; write the network "${formatCidr(networkCidr(cidr))}" (or "${text.split("/")[0]}/32" for one host)` : undefined;
}

/**
 * Why `value` is not an IPv4 address a packet can be translated to or addressed at: a canonical
 * literal that is not 0.0.0.0, 255.255.255.255, multicast or loopback (the kernel drops packets
 * forwarded to or from 127.0.0.0/8 unless route_localnet is set); undefined when it is fine.
 */
export function hostAddressProblem(value: unknown): string | undefined {
  const problem = ipv4Problem(value);
  if (problem) return problem;
  const ip = parseIp(value as string)!;
  if (isUnspecified(ip) || isLimitedBroadcast(ip) || isMulticast(ip)) return "use a unicast address (not 0.0.0.0, 255.255.255.255 or multicast)";
  if (contains(parseCidr(LOOPBACK)!, ip)) return `loopback addresses (${LOOPBACK}) cannot be forwarded or translated to: the kernel drops such packets on any other interface; use an address of a real interface`;
  return undefined;
}
