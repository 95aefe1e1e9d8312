// The star lab of `npm run bench` (performance.md), defined once for every method and for the
// Pulumi program: N namespaces, each with `lo` up and a veth pair whose host end is a port of one
// bridge and whose peer (eth0) holds the namespace's address and a default route via the
// bridge's address; forwarding on; one MASQUERADE rule for the subnet leaving elsewhere than the
// bridge; one port forward per namespace, host port 20000+i to the namespace's address, port 80.

/** Pulumi project and stack of the engine's runs (resource owners of the provider method too). */
export const PROJECT = "star";
export const STACK = "bench";

export const SUBNET = "10.200.0.0/16";
export const BRIDGE = { name: "starbr0", ip: "10.200.0.1", address: "10.200.0.1/16" };
export const PEER = "eth0";
export const TO_PORT = 80;

export interface Member {
  /** The Pulumi resource names' suffix, and the index in kernel names. */
  i: number;
  netns: string;
  /** The host end of the veth pair (a port of the bridge); the peer is PEER in the namespace. */
  veth: string;
  ip: string;
  address: string;
  hostPort: number;
}

/** Member i of the star (any i below 50000). */
export function member(i: number): Member {
  const ip = `10.200.${1 + Math.floor(i / 200)}.${10 + (i % 200)}`;
  return { i, netns: `star${i}`, veth: `starv${i}`, ip, address: `${ip}/16`, hostPort: 20000 + i };
}

export const members = (n: number): Member[] => Array.from({ length: n }, (_, i) => member(i));

/** Resources of the lab as a program: 5 per namespace plus bridge, its address, sysctl and NAT. */
export const resourceCount = (n: number) => 5 * n + 4;
