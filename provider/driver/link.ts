import { NslabError } from "../errors";
import { failedWith } from "./exec";
import { ip, ipJson, type Netns } from "./ip";

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
 * Equivalent to: `ip [-n NETNS] -j -d link show dev NAME`.
 */
export async function findLink(netns: Netns, name: string): Promise<LinkInfo | undefined> {
  try {
    const [link] = await ipJson<LinkInfo>(netns, ["-d", "link", "show", "dev", name]);
    return link;
  } catch (err) {
    if (failedWith(err, "NOT_FOUND", "NO_NETNS")) return undefined;
    throw err;
  }
}

/** Like findLink, but a missing link is an error. */
export async function getLink(netns: Netns, name: string): Promise<LinkInfo> {
  const link = await findLink(netns, name);
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
