// Ownership marks: how nslab recognises the kernel objects it made (docs/design.md, "Ownership marks").
// A mark carries the owner hash, a short hash of (project, stack, resource path), so one
// stack never adopts or deletes another stack's object.

/**
 * The group a link of this owner gets at creation: atomic, so a crash before the alias still
 * leaves the owner's mark. 0x6e ("n") then 24 bits of the owner hash: a hand-made link given some
 * group, or another owner's, is not taken for this owner's.
 */
export function linkGroup(ownerHash: string): number {
  return 0x6e000000 + parseInt(ownerHash.slice(0, 6), 16);
}

/** Routes nslab adds carry this protocol number (`ip route show proto 199` lists only ours). */
export const ROUTE_PROTO = 199;

/** Link alias (and netns `lo` alias) of an owner. */
export function linkAlias(ownerHash: string): string {
  return `nslab:${ownerHash}`;
}

/** The owner hash in a link alias, or undefined when the alias is not nslab's. */
export function ownerOfAlias(alias: string | undefined): string | undefined {
  const m = /^nslab:([0-9a-f]{12})$/.exec(alias ?? "");
  return m?.[1];
}

/**
 * The IPv4 address label that marks an address: `<dev>:<hash prefix>`, as long as the 15-byte
 * label limit allows; undefined when the device name leaves no room (then state is the only
 * record, as for IPv6 addresses, which cannot be labelled at all).
 */
export function addressLabel(device: string, ownerHash: string): string | undefined {
  const room = 15 - device.length - 1;
  return room >= 2 ? `${device}:${ownerHash.slice(0, room)}` : undefined;
}

/** iptables comment on every rule nslab writes: ASCII, newline-free, far below 255 bytes. */
export function ruleComment(ownerHash: string, tag: string): string {
  return `nslab:${ownerHash}:${tag}`;
}
