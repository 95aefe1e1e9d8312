import { exec, failedWith } from "./exec";
import { ip, type Netns } from "./ip";
import { kindOf, listLinks, type LinkInfo } from "./link";
import { linkGroup } from "./marks";

// VXLAN links (`ip link add ... type vxlan`) and their flood list. A vxlan device sends what it
// has no address for (broadcast, unknown unicast) to every remote of its all-zero forwarding
// entries: the first remote is given to `ip link add` (the kernel makes its entry), the others are
// appended with `bridge fdb append` (head-end replication). The kernel allows one device per VNI
// and port in a namespace, and that one device reaches every peer, so a bridge with it as its only
// tunnel port never loops (docs/kernel-facts.md, "VXLAN").

/** What a new vxlan device is created with. */
export interface VxlanSpec {
  netns: Netns;
  name: string;
  /** The owner hash, whose group marks the link. */
  hash: string;
  vni: number;
  /** The flood list; the first is `remote`, the others are appended. */
  remotes: readonly string[];
  local?: string;
  device?: string;
  dstPort: number;
  mtu?: number;
}

/** The all-zero MAC: the entries of the flood list. */
const FLOOD = "00:00:00:00:00:00";

const bridgeArgv = (netns: Netns, args: readonly string[]) => ["bridge", ...(netns ? ["-n", netns] : []), ...args];

/**
 * Creates the device marked with its owner's group, then appends the other remotes.
 * Equivalent to: `ip [-n NS] link add name N group G [mtu M] type vxlan id VNI remote R0 [local L] [dev D] dstport P`,
 * then `bridge [-n NS] fdb append 00:00:00:00:00:00 dev N dst R` for each other remote.
 */
export async function addVxlan(s: VxlanSpec): Promise<void> {
  await ip(s.netns, [
    "link", "add", "name", s.name, "group", String(linkGroup(s.hash)), ...(s.mtu === undefined ? [] : ["mtu", String(s.mtu)]),
    "type", "vxlan", "id", String(s.vni), "remote", s.remotes[0]!,
    ...(s.local ? ["local", s.local] : []), ...(s.device ? ["dev", s.device] : []), "dstport", String(s.dstPort),
  ]);
  await setRemotes(s.netns, s.name, s.remotes, [s.remotes[0]!]);
}

/** The remotes of the device's flood list. Equivalent to: `bridge [-n NS] -j fdb show dev N`. */
export async function listRemotes(netns: Netns, name: string): Promise<string[]> {
  const { stdout } = await exec(bridgeArgv(netns, ["-j", "fdb", "show", "dev", name]));
  const entries = stdout.trim() ? (JSON.parse(stdout) as { mac: string; dst?: string }[]) : [];
  return entries.filter((e) => e.mac === FLOOD && e.dst).map((e) => e.dst!).sort();
}

/**
 * Makes the flood list `want`, given that it is `have`: appends what is missing, deletes what is
 * extra (an adopted device's). Equivalent to: `bridge [-n NS] fdb append|del 00:00:00:00:00:00 dev N dst R`.
 */
export async function setRemotes(netns: Netns, name: string, want: readonly string[], have: readonly string[]): Promise<void> {
  for (const r of want.filter((w) => !have.includes(w))) await exec(bridgeArgv(netns, ["fdb", "append", FLOOD, "dev", name, "dst", r]));
  for (const r of have.filter((h) => !want.includes(h))) await exec(bridgeArgv(netns, ["fdb", "del", FLOOD, "dev", name, "dst", r]));
}

/** The vxlan attributes `ip -d -j link show` reports in `linkinfo.info_data` (`link`: the lower device). */
export interface VxlanInfo {
  vni?: number;
  local?: string;
  dstPort?: number;
  device?: string;
}

export function vxlanInfo(link: LinkInfo): VxlanInfo {
  const d = link.linkinfo?.info_data ?? {};
  return {
    ...(typeof d.id === "number" ? { vni: d.id } : {}),
    ...(typeof d.local === "string" ? { local: d.local } : {}),
    ...(typeof d.port === "number" ? { dstPort: d.port } : {}),
    ...(typeof d.link === "string" ? { device: d.link } : {}),
  };
}

/** The vxlan device of `netns` other than `name` that already uses this VNI and port (the kernel allows one). */
export async function vniHolder(netns: Netns, name: string, vni: number, dstPort: number): Promise<string | undefined> {
  try {
    const links = await listLinks(netns);
    return links.find((l) => l.ifname !== name && kindOf(l) === "vxlan" && vxlanInfo(l).vni === vni && vxlanInfo(l).dstPort === dstPort)?.ifname;
  } catch (err) {
    if (failedWith(err, "NO_NETNS")) return undefined;
    throw err;
  }
}
