import { ipProblem, isMulticast, isUnspecified, parseIp } from "./cidr";

// The pure part of Vxlan, shared by its provider and the SDK (which loads no driver code).

/** VXLAN's port (IANA); iproute2 without `dstport` uses the Linux kernel's older 8472. */
export const VXLAN_PORT = 4789;

/**
 * A remote or a list of remotes as the link holds them: a sorted list without duplicates, so
 * their order never replaces the link. Anything else is left for check to refuse.
 */
export function remoteList(r: unknown): unknown {
  if (typeof r === "string") return [r];
  return Array.isArray(r) && r.every((x) => typeof x === "string") ? [...new Set(r as string[])].sort() : r;
}

/** Why `v` is not a unicast underlay address, or undefined. */
export function underlayProblem(v: unknown): string | undefined {
  if (typeof v !== "string") return `use an IPv4 or IPv6 address (a string), e.g. "10.250.0.2"`;
  const problem = ipProblem(v);
  if (problem) return problem;
  const ip = parseIp(v)!;
  if (isMulticast(ip) || isUnspecified(ip)) return `use a unicast address of the peer's underlay, e.g. "10.250.0.2" (a multicast group is not supported)`;
  return undefined;
}
