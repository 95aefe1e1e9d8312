import { NslabError, PartialCreateError, shellQuote } from "../errors";
import { failedWith } from "./exec";
import { ip, ipArgv, ipJson, type Netns } from "./ip";
import { linkAlias, linkGroup, ownerOfAlias } from "./marks";
import { HOST_CRITICAL_LINKS } from "../lib/names";

// Links (`ip link`): reads through `ip -j -d link show`, writes always with the `name`/`dev`
// keywords so that a name like "up" or "type" can never be read as a keyword (B5).

/** The fields of `ip -j -d link show` nslab reads. */
export interface LinkInfo {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  group: string;
  address?: string;
  ifalias?: string;
  master?: string;
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string };
}

/** Admin state: the UP flag, never operstate (a veth whose peer is down is still "up"). */
export function isUp(link: LinkInfo): boolean {
  return link.flags.includes("UP");
}

export function kindOf(link: LinkInfo): string | undefined {
  return link.linkinfo?.info_kind;
}

/**
 * The link named `name` in `netns`, or undefined when there is none (or the namespace is gone).
 * Without `details` (-d) the read has no `linkinfo` (kind, bridge settings) but shares the queue,
 * and so the batch, of the `ip link set` issued just before it (driver/batch.ts).
 * Equivalent to: `ip [-n NETNS] -j [-d] link show dev NAME`.
 */
export async function findLink(netns: Netns, name: string, details = true): Promise<LinkInfo | undefined> {
  try {
    const [link] = await ipJson<LinkInfo>(netns, [...(details ? ["-d"] : []), "link", "show", "dev", name]);
    return link;
  } catch (err) {
    if (failedWith(err, "NOT_FOUND", "NO_NETNS")) return undefined;
    throw err;
  }
}

/** Like findLink, but a missing link is an error. */
export async function getLink(netns: Netns, name: string, details = true): Promise<LinkInfo> {
  const link = await findLink(netns, name, details);
  if (!link) throw new NslabError("NOT_FOUND", `no link "${name}" in ${where(netns)}`);
  return link;
}

/** Every link of a namespace. Equivalent to: `ip [-n NETNS] -j -d link show`. */
export function listLinks(netns: Netns): Promise<LinkInfo[]> {
  return ipJson<LinkInfo>(netns, ["-d", "link", "show"]);
}

/**
 * Deletes a link; resolves when it is already gone (or its namespace is).
 * Equivalent to: `ip [-n NETNS] link del dev NAME`.
 */
export async function delLink(netns: Netns, name: string): Promise<void> {
  try {
    await ip(netns, ["link", "del", "dev", name]);
  } catch (err) {
    if (!failedWith(err, "NOT_FOUND", "NO_NETNS")) throw err;
  }
}

/** Settings `ip link set` can change in place. */
export interface LinkSettings {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** A bridge to join, or null to leave the current one. */
  master?: string | null;
  alias?: string;
}

/** The argv words of `ip link set dev NAME ...` for these settings (empty when nothing to set). */
export function linkSetArgs(s: LinkSettings): string[] {
  const words: string[] = [];
  if (s.mtu !== undefined) words.push("mtu", String(s.mtu));
  if (s.mac !== undefined) words.push("address", s.mac);
  if (s.master === null) words.push("nomaster");
  else if (s.master !== undefined) words.push("master", s.master);
  if (s.alias !== undefined) words.push("alias", s.alias);
  if (s.up !== undefined) words.push(s.up ? "up" : "down");
  return words;
}

/** Equivalent to: `ip [-n NETNS] link set dev NAME [mtu N] [address MAC] [master BR|nomaster] [alias A] [up|down]`. */
export async function setLink(netns: Netns, name: string, s: LinkSettings): Promise<void> {
  const words = linkSetArgs(s);
  if (words.length) await ip(netns, ["link", "set", "dev", name, ...words]);
}

export function where(netns: Netns): string {
  return netns ? `namespace "${netns}"` : "the host namespace";
}

// Creating links and recognising nslab's own (shared by VethPair and Bridge). A link is marked
// by its owner's group (marks.ts), set atomically by `ip link add`, and by the alias `nslab:<owner hash>`,
// which `ip link add` silently drops, so it is set right after (docs/kernel-facts.md, "Links").

/** Whose a link is: "ours" (this owner's), "nslab" (another owner's), or "foreign". */
export type LinkOwnership = "ours" | "nslab" | "foreign";

/**
 * Ours when it carries our alias, or our group and no alias at all: a create of ours that stopped
 * between `ip link add` and the alias (the group is set atomically with the link).
 */
export function ownershipOf(link: LinkInfo, hash: string): LinkOwnership {
  const owner = ownerOfAlias(link.ifalias);
  if (owner) return owner === hash ? "ours" : "nslab";
  return !link.ifalias && link.group === String(linkGroup(hash)) ? "ours" : "foreign";
}

/** The shell command that removes a link, for messages. */
export function delLinkCommand(netns: Netns, name: string): string {
  return ipArgv(netns, ["link", "del", "dev", name]).map(shellQuote).join(" ");
}

/** A link of another kind holds the name (docs/kernel-facts.md, I4): it is never deleted or reused. */
export function wrongKindError(netns: Netns, name: string, want: string, link: LinkInfo): NslabError {
  const kind = kindOf(link);
  return new NslabError(
    "CONFLICT",
    `"${name}" already exists but is not a ${want} (it is ${kind ? `a ${kind}` : "a device without a kind"} in ${where(netns)}); ` +
      `choose another name, or remove it with: ${delLinkCommand(netns, name)}`,
  );
}

/** A link nslab did not make for this owner holds the name (docs/kernel-facts.md, I5); adopt: true takes it over. */
export function foreignLinkError(netns: Netns, name: string, ownership: LinkOwnership): NslabError {
  const who = ownership === "nslab" ? "another nslab resource or stack" : "something other than nslab";
  return new NslabError(
    "CONFLICT",
    `"${name}" already exists in ${where(netns)} and was made by ${who}. ` +
      `Choose another name, remove it with: ${delLinkCommand(netns, name)}, or set adopt: true to take it over.`,
  );
}

/**
 * Why nslab must not create or adopt `name` in `netns` (B23), or undefined. Only the host
 * namespace has host-critical links (`eth0` inside a lab namespace is the normal container
 * pattern). Without `withRoutes` only the fixed list is consulted; with it, also the devices of
 * the host's default routes (IPv4 and IPv6, every table), which exist, so this only matters
 * when an existing link would be adopted.
 */
export async function hostCriticalProblem(netns: Netns, name: string, withRoutes: boolean): Promise<string | undefined> {
  if (netns) return undefined;
  const refuse = (why: string) =>
    `"${name}" is ${why} in the host namespace; nslab never creates, adopts or deletes it. Choose another name, or put this link in a lab namespace (netns)`;
  if (HOST_CRITICAL_LINKS.has(name)) return refuse(`a host-critical link (${[...HOST_CRITICAL_LINKS].join(", ")})`);
  if (withRoutes && (await defaultRouteDevices()).has(name)) return refuse("the device of the host's default route");
  return undefined;
}

interface RouteInfo {
  dev?: string;
  nexthops?: { dev?: string }[];
}

async function defaultRouteDevices(): Promise<Set<string>> {
  const routes = [
    ...(await ipJson<RouteInfo>(undefined, ["-4", "route", "show", "default", "table", "all"])),
    ...(await ipJson<RouteInfo>(undefined, ["-6", "route", "show", "default", "table", "all"])),
  ];
  return new Set(routes.flatMap((r) => [r.dev, ...(r.nexthops ?? []).map((n) => n.dev)]).filter((d): d is string => !!d));
}

/**
 * Fails unless `master` is a bridge in `netns`: a master must be in the same namespace as the
 * port, and `ip link set master` would also accept a bond or refuse a veth only after applying
 * the rest of the command.
 */
export async function requireBridge(netns: Netns, master: string, property: string): Promise<void> {
  const link = await findLink(netns, master);
  if (link && kindOf(link) === "bridge") return;
  const found = link ? `it is a ${kindOf(link) ?? "device without a kind"}` : "there is no link of that name there";
  throw new NslabError(
    "NOT_FOUND",
    `${property} "${master}" is not a bridge in ${where(netns)} (${found}); a ${property} must be a bridge in the same namespace as its port: ` +
      `create the nslab.Bridge in that namespace and pass the resource itself as ${property}, which also orders the two`,
  );
}

/** One end of a veth pair as `ip link add ... type veth peer ...` creates it. */
export interface VethEnd {
  netns: Netns;
  name: string;
  mac?: string;
}

/**
 * Creates both ends of a veth pair in one command, marked with the owner's group: atomic, so a failure
 * leaves nothing behind (P3). `ip -n NS` cannot name the host namespace as the peer's target, so
 * a pair with only its first end in a namespace is created from the host with the ends swapped.
 * Equivalent to: `ip [-n NS] link add name N group G [mtu M] [address MAC] type veth peer name P group G [netns PEERNS] [mtu M] [address PEERMAC]`.
 */
export async function addVeth(end: VethEnd, peer: VethEnd, hash: string, mtu?: number): Promise<void> {
  if (end.netns && !peer.netns) return addVeth(peer, end, hash, mtu);
  const words = (e: VethEnd, netns: string[]) => [
    "name", e.name, "group", String(linkGroup(hash)), ...netns,
    ...(mtu !== undefined ? ["mtu", String(mtu)] : []),
    ...(e.mac !== undefined ? ["address", e.mac] : []),
  ];
  const peerNetns = peer.netns && peer.netns !== end.netns ? ["netns", peer.netns] : [];
  await ip(end.netns, ["link", "add", ...words(end, []), "type", "veth", "peer", ...words(peer, peerNetns)]);
}

/** Whether two links are the two ends of one veth pair (`sameNetns`: both in one namespace). */
export function isVethPair(a: LinkInfo, b: LinkInfo, sameNetns: boolean): boolean {
  if (kindOf(a) !== "veth" || kindOf(b) !== "veth") return false;
  // In one namespace `ip -j` names the peer ("link"); across namespaces it gives the peer's
  // ifindex there and the id of its namespace.
  const peerName = (l: LinkInfo) => (l as LinkInfo & { link?: string }).link;
  if (sameNetns) return peerName(a) === b.ifname && peerName(b) === a.ifname;
  return a.link_index === b.ifindex && b.link_index === a.ifindex && a.link_netnsid !== undefined && b.link_netnsid !== undefined;
}

/** The bridge's forward delay with STP on: the kernel's minimum (2 s; centiseconds here). */
export const BRIDGE_MIN_FORWARD_DELAY = 200;

/**
 * The `type bridge` words that switch STP on (with the shortest forward delay, so a lab forwards
 * within seconds of a port joining, not 30) or off (ports forward at once).
 */
export function bridgeStpArgs(stp: boolean): string[] {
  return stp ? ["forward_delay", String(BRIDGE_MIN_FORWARD_DELAY), "stp_state", "1"] : ["stp_state", "0"];
}

/** What a new bridge is created with. */
export interface BridgeSpec {
  netns: Netns;
  name: string;
  /** Pinned: a bridge otherwise takes its ports' MAC and goes to 00:00:00:00:00:00 when empty. */
  mac: string;
  /** The owner hash, whose group marks the bridge. */
  hash: string;
  /** The MTU that the caller then sets with `ip link set mtu` (see addBridge). */
  mtu?: number;
  stp?: boolean;
}

/**
 * Creates a bridge marked with its owner's group and with its MAC pinned (an address given at creation
 * counts as set by the user, so the bridge no longer follows its ports'). A bridge's MTU follows
 * its smallest port unless it was *changed* with `ip link set mtu`, and setting the current value
 * is a no-op that does not count: so with `mtu` it is created one off that value, and the
 * caller's following `ip link set dev NAME mtu M` always pins it.
 * Equivalent to: `ip [-n NS] link add name N group G address MAC [mtu M±1] type bridge [forward_delay 200 stp_state 1|stp_state 0]`.
 */
export async function addBridge(s: BridgeSpec): Promise<void> {
  const mtu = s.mtu === undefined ? [] : ["mtu", String(s.mtu === 65535 ? s.mtu - 1 : s.mtu + 1)];
  await ip(s.netns, [
    "link", "add", "name", s.name, "group", String(linkGroup(s.hash)), "address", s.mac, ...mtu,
    "type", "bridge", ...(s.stp === undefined ? [] : bridgeStpArgs(s.stp)),
  ]);
}

/** A deterministic locally-administered unicast MAC from an owner hash (12 hex digits). */
export function macFromHash(hash: string): string {
  const bytes = Buffer.from(hash.slice(0, 12), "hex");
  bytes[0] = (bytes[0]! & 0xfc) | 0x02; // unicast, locally administered
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/**
 * Marks a link as the owner's (group and alias; also how an adopted link becomes ours) and
 * applies settings, in one command; `typeArgs` are kind-specific words (`type bridge ...`).
 * Equivalent to: `ip [-n NS] link set dev NAME group G alias nslab:HASH [settings] [type ...]`.
 */
export async function markLink(netns: Netns, name: string, hash: string, s: LinkSettings, typeArgs: readonly string[] = []): Promise<void> {
  await ip(netns, ["link", "set", "dev", name, "group", String(linkGroup(hash)), ...linkSetArgs({ ...s, alias: linkAlias(hash) }), ...typeArgs]);
}

/** Why `mac` is not a canonical unicast MAC, with the canonical form when it only looks different. */
export function macProblem(mac: string): string | undefined {
  const parts = mac.split(/[:-]/);
  const canonical = parts.length === 6 && parts.every((p) => /^[0-9A-Fa-f]{1,2}$/.test(p)) ? parts.map((p) => p.toLowerCase().padStart(2, "0")).join(":") : undefined;
  if (!canonical) return `use 6 lower-case hex bytes separated by ":", e.g. "02:00:00:00:00:01"`;
  if (canonical !== mac) return `write it in canonical form: "${canonical}"`;
  if (parseInt(canonical.slice(0, 2), 16) & 1) return `it is a multicast address (the lowest bit of the first byte is set); use a unicast one, e.g. "02${canonical.slice(2)}"`;
  if (canonical === "00:00:00:00:00:00") return `the all-zero address is not a valid interface address; use e.g. "02:00:00:00:00:01"`;
  return undefined;
}

/**
 * After the setup of a link this create made has failed: removes the link and rethrows `err`, or,
 * when the removal fails too, throws a PartialCreateError so that the engine records the link
 * (id and properties) instead of leaking it.
 */
export async function undoCreate(netns: Netns, name: string, id: string, properties: Record<string, unknown>, err: unknown): Promise<never> {
  try {
    await delLink(netns, name);
  } catch (cleanup) {
    const reasons = [String((err as Error).message ?? err), `cleanup: ${String((cleanup as Error).message ?? cleanup)}`];
    throw new PartialCreateError(`"${name}" was created but not set up, and removing it failed: ${reasons.join("; ")}`, id, properties, reasons, { cause: err });
  }
  throw err;
}
