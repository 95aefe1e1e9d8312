import { failedWith } from "./exec";
import { ip, ipJson, type Netns } from "./ip";
import type { LinkInfo } from "./link";
import { netnsKind, readRecord, removeRecord, writeRecord } from "./runstate";

// Interface addresses (`ip addr`). Reads go through `ip -j addr show to <address>`, which lists
// only the links holding that exact address, rather than `show dev NAME`: a missing device
// is then simply absent from the answer, not an error to tell apart from others.

/** One entry of `addr_info` in `ip -j addr show`. */
export interface AddrInfo {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  scope?: string;
  /** IPv4 only; the device name when none was given. */
  label?: string;
  secondary?: boolean;
  tentative?: boolean;
  dadfailed?: boolean;
  nodad?: boolean;
}

/** A link with its addresses, as `ip -j addr show` lists it. */
export type LinkAddrs = Pick<LinkInfo, "ifindex" | "ifname" | "flags"> & { addr_info: AddrInfo[] };

/** An address to add or remove: `<address>/<prefix>` on a device. */
export interface AddrSpec {
  netns: Netns;
  device: string;
  /** Canonical CIDR, e.g. "10.0.0.1/24". */
  cidr: string;
  family: 4 | 6;
}

/** A found address with the link that holds it. */
export interface FoundAddr {
  link: Omit<LinkAddrs, "addr_info">;
  addr: AddrInfo;
}

/**
 * The address `cidr` on `device`, or undefined when the device does not hold it (or the device or
 * the namespace is gone). Addresses are compared as text in the canonical form `ip` prints.
 * Equivalent to: `ip [-n NETNS] -j -4|-6 addr show to <address>/<32|128>`.
 */
export async function findAddr(s: AddrSpec): Promise<FoundAddr | undefined> {
  const prefix = Number(s.cidr.split("/")[1]);
  return (await withSameAddress(s)).find((f) => f.addr.prefixlen === prefix);
}

/** The entries of `device` with the address of `cidr`, whatever their prefix length. */
export async function withSameAddress(s: AddrSpec): Promise<FoundAddr[]> {
  const address = s.cidr.split("/")[0]!;
  let links: LinkAddrs[];
  try {
    links = await ipJson<LinkAddrs>(s.netns, [`-${s.family}`, "addr", "show", "to", `${address}/${s.family === 4 ? 32 : 128}`]);
  } catch (err) {
    if (failedWith(err, "NO_NETNS")) return [];
    throw err;
  }
  const link = links.find((l) => l.ifname === s.device);
  if (!link) return [];
  const { addr_info, ...info } = link;
  // `show to` leaves an empty object where it filtered an address out.
  return addr_info.filter((a) => a.local === address).map((addr) => ({ link: info, addr }));
}

/** Every link of a namespace with its addresses. Equivalent to: `ip [-n NETNS] -j addr show`. */
export function listAddrs(netns: Netns): Promise<LinkAddrs[]> {
  return ipJson<LinkAddrs>(netns, ["addr", "show"]);
}

/**
 * Adds the address; fails (ALREADY_EXISTS) when the device already holds it, so that an existing
 * address is noticed rather than silently taken over. IPv6 skips duplicate address detection
 * (`nodad`), so the address is usable at once instead of after ~1.8 s of being tentative.
 * Equivalent to: `ip [-n NETNS] addr add CIDR dev DEV [label LABEL] [nodad]`.
 */
export async function addAddr(s: AddrSpec, label: string | undefined): Promise<void> {
  const extra = s.family === 6 ? ["nodad"] : label ? ["label", label] : [];
  await ip(s.netns, ["addr", "add", s.cidr, "dev", s.device, ...extra]);
}

/**
 * Deletes the address; resolves when it is already gone (or its device or namespace is). With a
 * label (IPv4), the kernel deletes it only when the address carries that label, so an address
 * someone else re-added under another label survives.
 * Equivalent to: `ip [-n NETNS] addr del CIDR dev DEV [label LABEL]`.
 */
export async function delAddr(s: AddrSpec, label: string | undefined): Promise<void> {
  try {
    await ip(s.netns, ["addr", "del", s.cidr, "dev", s.device, ...(s.family === 4 && label ? ["label", label] : [])]);
  } catch (err) {
    if (failedWith(err, "NOT_FOUND", "NO_NETNS")) return;
    // IPv6 reports a missing address as "Error: ipv6: address not found." (not classified as
    // NOT_FOUND): what counts is whether it is still there.
    const still = await findAddr(s);
    if (still && (s.family === 6 || !label || still.addr.label === label)) throw err;
  }
}

// The owner of an address is kept in a record (runstate.ts), written before the address is added:
// an address carries no mark that tells one owner from another (a label has 15 bytes for the
// device name and a hash, IPv6 has none, and iproute2 6.1 cannot set an address's protocol).

function recordKey(s: AddrSpec): [string, string] {
  return [netnsKind("addr", s.netns), `${s.device} ${s.cidr}`];
}

/** The owner hash recorded for the address, or undefined. */
export function addrOwner(s: AddrSpec): Promise<string | undefined> {
  return readRecord(...recordKey(s));
}

/** Records `hash` as the owner of the address (undefined: removes the record). */
export async function setAddrOwner(s: AddrSpec, hash: string | undefined): Promise<void> {
  await (hash === undefined ? removeRecord(...recordKey(s)) : writeRecord(...recordKey(s), hash));
}

/** The IPv4 addresses of a device. Equivalent to: `ip [-n NETNS] -j -4 addr show dev DEV`. */
export async function deviceAddrs(netns: Netns, device: string): Promise<AddrInfo[]> {
  try {
    return (await ipJson<LinkAddrs>(netns, ["-4", "addr", "show", "dev", device]))[0]?.addr_info ?? [];
  } catch (err) {
    if (failedWith(err, "NOT_FOUND", "NO_NETNS")) return [];
    throw err;
  }
}
