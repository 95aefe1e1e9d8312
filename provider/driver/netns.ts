import { NslabError } from "../errors";
import { hostKey } from "../lib/host";
import { failedWith } from "./exec";
import { fileIdentity } from "./files";
import { currentHost } from "./host";
import { ip, ipJson } from "./ip";
import { findLink, type LinkInfo } from "./link";

// Named network namespaces (`ip netns`): bind mounts under /run/netns.

export const NETNS_DIR = "/run/netns";

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export type NetnsInfo =
  | { state: "live"; identity: string; lo: LinkInfo }
  /** The file exists but is no namespace (a crash inside `ip netns add`; docs/kernel-facts.md, I6). */
  | { state: "stale" };

/** The namespace `name`, or undefined when there is none. */
export async function findNetns(name: string): Promise<NetnsInfo | undefined> {
  const identity = await netnsIdentity(name);
  if (identity === undefined) return undefined;
  const lo = await findLink(name, "lo");
  return lo ? { state: "live", identity, lo } : { state: "stale" };
}

/**
 * What tells one namespace from a later one of the same name: `<inode>@<inode ctime in ns>` of
 * its bind mount. The inode alone is not enough: the kernel reuses a freed namespace's inode
 * (measured: add, del, add 0.2 s apart gave the same inode every time). Undefined when absent.
 */
export function netnsIdentity(name: string): Promise<string | undefined> {
  return fileIdentity(netnsPath(name));
}

/** The error for a resource whose namespace does not exist yet: which input, and how to order it. */
export function missingNetnsError(property: string, name: string, cause: unknown): NslabError {
  return new NslabError(
    "NO_NETNS",
    `${property}: namespace "${name}" does not exist; create it first: pass the nslab.Netns resource itself as ${property} (which orders the two), or add it to dependsOn`,
    { cause },
  );
}

/** Equivalent to: `ip netns add NAME`. */
export async function addNetns(name: string): Promise<void> {
  await ip(undefined, ["netns", "add", name]);
}

/**
 * Deletes the namespace and waits until the kernel has torn it down, so that the veth peers it
 * took with it are gone from the host before the next create reuses their names (P7: the
 * teardown is asynchronous, 4-36 ms). Resolves when it is already gone.
 * Equivalent to: `ip netns del NAME`.
 */
export async function delNetns(name: string): Promise<void> {
  const nsid = await hostNsid(name);
  // The host's links whose peer is in the namespace (veth ends): the kernel drops the namespace's
  // id before it unregisters its devices, so the id going is not yet the end of those links.
  const peers = nsid === undefined ? [] : (await listLinks()).filter((l) => l.link_netnsid === nsid).map((l) => l.ifindex);
  try {
    await ip(undefined, ["netns", "del", name]);
  } catch (err) {
    if (!failedWith(err, "NOT_FOUND")) throw err;
  }
  if (nsid === undefined) return;
  for (let i = 0; i < 200 && (await listNsids()).some((e) => e.nsid === nsid); i++) await sleep(10);
  for (let i = 0; i < 200 && peers.length && (await listLinks()).some((l) => peers.includes(l.ifindex)); i++) await sleep(10);
}

/** The id the host namespace knows `name` by (it has one while links connect the two). */
async function hostNsid(name: string): Promise<number | undefined> {
  return (await listNsids()).find((e) => e.name === name)?.nsid;
}

const listings = new Map<string, Promise<{ nsid: number; name?: string }[]>>();

/**
 * `ip netns list-id`, one at a time per host: concurrent deletes share a listing in flight. A
 * listing that started before a delete still holds its id, so sharing can only add a turn to a
 * wait, never end one early.
 */
function listNsids(): Promise<{ nsid: number; name?: string }[]> {
  return shared(listings, () => ipJson<{ nsid: number; name?: string }>(undefined, ["netns", "list-id"]));
}

const linkListings = new Map<string, Promise<{ ifindex: number; link_netnsid?: number }[]>>();

/** The host's links, shared by concurrent deletes like listNsids. */
function listLinks(): Promise<{ ifindex: number; link_netnsid?: number }[]> {
  return shared(linkListings, () => ipJson<{ ifindex: number; link_netnsid?: number }>(undefined, ["link", "show"]));
}

/** The current host's listing in flight, or a new one. */
function shared<T>(inFlight: Map<string, Promise<T>>, list: () => Promise<T>): Promise<T> {
  const key = hostKey(currentHost());
  let p = inFlight.get(key);
  if (!p) {
    p = list().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
