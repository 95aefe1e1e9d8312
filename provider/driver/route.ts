import { shellQuote } from "../errors";
import { failedWith } from "./exec";
import { ip, ipArgv, ipJson, type Netns } from "./ip";
import { ROUTE_PROTO } from "./marks";
import { netnsKind, readRecord, removeRecord, writeRecord } from "./runstate";

// Routes (`ip route`). A route is identified by (namespace, family, destination, table, metric)
// (docs/kernel-facts.md, "Routes": metric and table are part of the key). Every command names the family
// (`-4`/`-6`: with a table and no family, `ip route show` lists IPv4 only), the table and the
// metric explicitly: the kernel's IPv4 delete treats metric 0 as "any metric". Reads use `-N`
// so that protocol and table come back as numbers whatever /etc/iproute2 names them.

/** The identity of a route. */
export interface RouteKey {
  netns: Netns;
  family: 4 | 6;
  /** Canonical CIDR of the destination ("0.0.0.0/0" or "::/0" for a default route). */
  destination: string;
  /** 1-4294967295 (254 is "main"). */
  table: number;
  metric: number;
}

/** A route's identity with its next hop. */
export interface RouteSpec extends RouteKey {
  via?: string;
  device?: string;
}

/** The fields of `ip -j -N route show` nslab reads. */
export interface RouteInfo {
  /** "default" for a /0. */
  dst: string;
  gateway?: string;
  dev?: string;
  /** Numeric (-N), e.g. "199", "2" (kernel); absent for 3 (boot, what `ip route add` sets by default). */
  protocol?: string;
  /** Absent for metric 0 (IPv4). */
  metric?: number;
  /** Numeric, absent for unicast. */
  type?: string;
  flags?: string[];
}

/** The kernel's table numbers of the named tables. */
export const MAIN_TABLE = 254;

/** The metric the kernel gives a route added without one. */
export function defaultMetric(family: 4 | 6): number {
  return family === 4 ? 0 : 1024;
}

function keyArgs(k: RouteKey): string[] {
  return [k.destination, "table", String(k.table), "metric", String(k.metric)];
}

function nexthopArgs(s: RouteSpec): string[] {
  return [...(s.via ? ["via", s.via] : []), ...(s.device ? ["dev", s.device] : [])];
}

/**
 * The unicast routes of that identity, whoever made them (nslab's carry `protocol` ROUTE_PROTO);
 * empty when there are none or the table or namespace does not exist.
 * Equivalent to: `ip [-n NETNS] -j -N -4|-6 route show exact DEST table T` (filtered by metric).
 */
export async function findRoutes(k: RouteKey): Promise<RouteInfo[]> {
  let routes: RouteInfo[];
  try {
    routes = await ipJson<RouteInfo>(k.netns, ["-N", `-${k.family}`, "route", "show", "exact", k.destination, "table", String(k.table)]);
  } catch (err) {
    // "FIB table does not exist" is NOT_FOUND.
    if (failedWith(err, "NOT_FOUND", "NO_NETNS")) return [];
    throw err;
  }
  return routes.filter((r) => (r.type === undefined || r.type === "1") && (r.metric ?? 0) === k.metric);
}

/** Whether a route carries nslab's mark (some nslab owner's: the record says whose). */
export function isOurRoute(r: RouteInfo): boolean {
  return r.protocol === String(ROUTE_PROTO);
}

// Every nslab owner marks its routes with the same protocol, so the owner of a route is kept in a
// record (runstate.ts) of its identity, written before the route is added.

function recordKey(k: RouteKey): [string, string] {
  return [netnsKind("route", k.netns), `${k.family} ${k.table} ${k.destination} ${k.metric}`];
}

/** The owner hash recorded for the route of that identity, or undefined. */
export function routeOwner(k: RouteKey): Promise<string | undefined> {
  return readRecord(...recordKey(k));
}

/** Records `hash` as the owner of the route of that identity (undefined: removes the record). */
export async function setRouteOwner(k: RouteKey, hash: string | undefined): Promise<void> {
  await (hash === undefined ? removeRecord(...recordKey(k)) : writeRecord(...recordKey(k), hash));
}

/** The identity of a route `ip -j -N -4|-6 route show table all` listed. */
export function keyOfRoute(netns: Netns, family: 4 | 6, r: RouteInfo & { table?: string }): RouteKey {
  const dst = r.dst === "default" ? (family === 4 ? "0.0.0.0/0" : "::/0") : r.dst.includes("/") ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`;
  return { netns, family, destination: dst, table: r.table ? Number(r.table) : MAIN_TABLE, metric: r.metric ?? 0 };
}

/**
 * The IPv4 routes of every table that go over `device` (the kernel flushes them when the device
 * loses its last IPv4 address). Equivalent to: `ip [-n NETNS] -j -N -4 route show table all dev DEV`.
 */
export function routesOverDevice(netns: Netns, device: string): Promise<(RouteInfo & { table?: string; prefsrc?: string })[]> {
  return ipJson(netns, ["-N", "-4", "route", "show", "table", "all", "dev", device]);
}

/**
 * Adds the route marked `proto ROUTE_PROTO`; fails (ALREADY_EXISTS) when a route of that identity
 * exists, so an existing route is noticed rather than silently taken over.
 * Equivalent to: `ip [-n NETNS] -4|-6 route add DEST table T metric M proto 199 [via GW] [dev DEV]`.
 */
export async function addRoute(s: RouteSpec): Promise<void> {
  await ip(s.netns, [`-${s.family}`, "route", "add", ...keyArgs(s), "proto", String(ROUTE_PROTO), ...nexthopArgs(s)]);
}

/**
 * Sets the next hop of the route of that identity (creating it when missing) and marks it ours.
 * Equivalent to: `ip [-n NETNS] -4|-6 route replace DEST table T metric M proto 199 [via GW] [dev DEV]`.
 */
export async function replaceRoute(s: RouteSpec): Promise<void> {
  await ip(s.netns, [`-${s.family}`, "route", "replace", ...keyArgs(s), "proto", String(ROUTE_PROTO), ...nexthopArgs(s)]);
}

/**
 * Deletes the route of that identity, which the caller owns (its record says so): the one marked
 * `proto ROUTE_PROTO`, else the one changed by hand; resolves when there is none. The kernel
 * matches the metric exactly except IPv4's metric 0, which matches any: such a route is looked up
 * first and deleted with its exact next hop, so that a route of the same destination with
 * another metric can never match instead.
 * Equivalent to: `ip [-n NETNS] -4|-6 route del DEST table T metric M proto 199 [via GW dev DEV]`.
 */
export async function delRoute(k: RouteKey): Promise<void> {
  let marked = true;
  let nexthop: string[] = [];
  if (k.family === 4 && k.metric === 0) {
    const ours = (await findRoutes(k)).find(isOurRoute);
    marked = ours !== undefined;
    if (ours) nexthop = nexthopArgs({ ...k, via: ours.gateway, device: ours.dev });
  }
  if (marked && (await delIfThere(k, String(ROUTE_PROTO), nexthop))) return;
  // Changed by hand (`ip route change` sets proto boot): still the route the caller owns.
  const changed = (await findRoutes(k))[0];
  if (changed) await delIfThere(k, changed.protocol ?? "3", nexthopArgs({ ...k, via: changed.gateway, device: changed.dev }));
}

/** Deletes the route that matches; false when none did (or the namespace is gone). */
async function delIfThere(k: RouteKey, protocol: string, nexthop: string[]): Promise<boolean> {
  try {
    await ip(k.netns, [`-${k.family}`, "route", "del", ...keyArgs(k), "proto", protocol, ...nexthop]);
    return true;
  } catch (err) {
    if (!failedWith(err, "NOT_FOUND", "NO_NETNS")) throw err;
    return false;
  }
}

/** The shell command that removes a route of that identity, for messages. */
export function delRouteCommand(k: RouteKey): string {
  return ipArgv(k.netns, [`-${k.family}`, "route", "del", ...keyArgs(k)]).map(shellQuote).join(" ");
}
