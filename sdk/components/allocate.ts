import { shortHash } from "../../provider/lib/names";
import { bitsOf, broadcast, cidrProblem, contains, formatCidr, formatIp, hasHostBits, ipProblem, network, networkCidr, parseCidr, parseIp, type Cidr } from "../../provider/lib/cidr";

// Address allocation for a Segment's attachments. Pure: no Pulumi, no I/O. Runs when the program
// constructs the components, so every mistake fails there, before anything is planned.
//
// An attachment's address derives from a hash of its name (its "slot" in the subnet); when the
// slot is the gateway or an earlier attachment's address, the next free address after it (wrapping
// around). Adding an attachment after the others therefore never renumbers them, and reordering
// renumbers only attachments whose slots collide.

/** A segment's subnet, checked, with its usable host addresses and its gateway. */
export interface SubnetPlan {
  /** The segment's resource name, for messages. */
  readonly segment: string;
  /** The subnet: its network address and prefix length. */
  readonly subnet: Cidr;
  /** The first usable host address. */
  readonly first: bigint;
  /** How many host addresses are usable (the gateway included). */
  readonly size: bigint;
  /** The gateway's address (plain text), when the segment has one. */
  readonly gateway?: string;
}

/**
 * The usable host addresses of a prefix, as the kernel sees them: all but the network address and
 * (IPv4) the broadcast address; /31 and /32 (IPv6 /127 and /128) have neither, all their
 * addresses are hosts (RFC 3021, RFC 6164).
 */
function usable(subnet: Cidr): { first: bigint; size: bigint } {
  const hostBits = bitsOf(subnet.family) - subnet.prefix;
  const all = 1n << BigInt(hostBits);
  if (hostBits <= 1) return { first: network(subnet).value, size: all };
  return { first: network(subnet).value + 1n, size: all - (subnet.family === 4 ? 2n : 1n) };
}

/** The usable range as text, e.g. "10.0.0.1 to 10.0.0.254". */
function rangeText(plan: SubnetPlan): string {
  const ip = (value: bigint): string => formatIp({ family: plan.subnet.family, value });
  return plan.size === 1n ? ip(plan.first) : `${ip(plan.first)} to ${ip(plan.first + plan.size - 1n)}`;
}

/**
 * Checks a segment's subnet and gateway. `gateway`: `true` for the first usable address, an
 * address inside the subnet, or undefined/false for none. Throws when the subnet is not a
 * canonical network, has room for fewer than two addresses, or the gateway is not usable.
 */
export function planSubnet(segment: string, subnet: string, gateway: boolean | string | undefined): SubnetPlan {
  const fail = (property: string, value: unknown, why: string): never => {
    throw new Error(`Segment "${segment}": ${property} ${JSON.stringify(value)} is not valid: ${why}`);
  };
  const problem = cidrProblem(subnet);
  if (problem) fail("subnet", subnet, problem);
  const cidr = parseCidr(subnet)!;
  if (hasHostBits(cidr)) fail("subnet", subnet, `it has host bits set; write the network, "${formatCidr(networkCidr(cidr))}"`);
  const { first, size } = usable(cidr);
  if (size < 2n) {
    fail("subnet", subnet, `it has room for one address; a segment needs at least two (its gateway and an attachment, or two attachments): use a prefix of /${bitsOf(cidr.family) - 1} or shorter`);
  }
  const plan: SubnetPlan = { segment, subnet: cidr, first, size };
  if (gateway === undefined || gateway === false) return plan;
  if (gateway === true) return { ...plan, gateway: formatIp({ family: cidr.family, value: first }) };
  const why = hostProblem(plan, gateway);
  return why ? fail("gateway", gateway, `${why}; give an address from ${rangeText(plan)}, or true for the first`) : { ...plan, gateway };
}

/** Why `address` is not a usable host address of the plan's subnet; undefined when it is. */
function hostProblem(plan: SubnetPlan, address: string): string | undefined {
  const problem = ipProblem(address);
  if (problem) return problem.replace(/\.$/, ""); // a clause: the caller appends the fix
  const ip = parseIp(address)!;
  const subnet = formatCidr(plan.subnet);
  if (ip.family !== plan.subnet.family) return `it is IPv${ip.family} but the subnet ${subnet} is IPv${plan.subnet.family}`;
  if (!contains(plan.subnet, ip)) return `it is outside the subnet ${subnet}`;
  if (ip.value === network(plan.subnet).value && plan.first !== ip.value) return `it is the network address of ${subnet}`;
  if (ip.value === broadcast(plan.subnet).value && ip.value >= plan.first + plan.size) return `it is the broadcast address of ${subnet}`;
  return undefined;
}

/**
 * The address of the attachment `name` (plain text, without prefix length). `taken` maps the
 * addresses of the segment's earlier attachments to their names. With `address` given, checks it
 * (canonical, a usable host address of the subnet, not the gateway, not taken); otherwise derives
 * one from the name (see the top of this file). Throws, naming the segment, the attachment, the
 * value, what is allowed and the fix.
 */
export function allocate(plan: SubnetPlan, taken: ReadonlyMap<string, string>, name: string, address?: string): string {
  const subnet = formatCidr(plan.subnet);
  const prefix = `Attachment "${name}" of segment "${plan.segment}": address`;
  if (address !== undefined) {
    const why = hostProblem(plan, address);
    const fix = `use an address from ${rangeText(plan)}${plan.gateway ? ` other than the gateway ${plan.gateway}` : ""}, or leave address out to derive a free one from the name`;
    if (why) throw new Error(`${prefix} ${JSON.stringify(address)} is not valid: ${why}; ${fix}`);
    if (address === plan.gateway) throw new Error(`${prefix} ${JSON.stringify(address)} is not valid: it is the segment's gateway; ${fix}`);
    const owner = taken.get(address);
    if (owner !== undefined) {
      throw new Error(`${prefix} ${JSON.stringify(address)} is not valid: attachment "${owner}" already has it; give one of the two another address, or leave address out to derive a free one`);
    }
    return address;
  }
  const occupied = BigInt(taken.size) + (plan.gateway ? 1n : 0n);
  if (occupied >= plan.size) {
    const holders = [...(plan.gateway ? [`the gateway ${plan.gateway}`] : []), ...[...taken.values()].map((n) => `"${n}"`)].join(", ");
    throw new Error(
      `${prefix}: the subnet ${subnet} is full: its ${plan.size} usable addresses are taken (${holders}); use a larger subnet (a shorter prefix length)`,
    );
  }
  // 128 bits of the name's hash: uniform enough modulo any subnet size, IPv6 /64 included.
  let offset = BigInt(`0x${shortHash([name], 32)}`) % plan.size;
  for (;;) {
    const text = formatIp({ family: plan.subnet.family, value: plan.first + offset });
    if (text !== plan.gateway && !taken.has(text)) return text;
    offset = (offset + 1n) % plan.size;
  }
}
