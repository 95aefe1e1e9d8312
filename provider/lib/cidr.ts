// IPv4 and IPv6 addresses and prefixes: parsing, the canonical text form and prefix arithmetic.
// Pure (no I/O). The canonical form is what `ip` itself prints (glibc inet_ntop): dotted-quad
// IPv4 without leading zeros, RFC 5952 IPv6 (lower case, no leading zeros, the first longest
// run of two or more zero groups as "::", IPv4-mapped and -compatible tails dotted). nslab
// rejects non-canonical input instead of normalising it, because `ip` normalises silently and
// sometimes surprisingly (docs/kernel-facts.md, "Addresses": "010.000.000.011" is stored as 8.0.0.9).

export type Family = 4 | 6;

/** An address: its family and its value as an unsigned integer of 32 or 128 bits. */
export interface Ip {
  readonly family: Family;
  readonly value: bigint;
}

/** An address with a prefix length (its host bits may be set: "10.0.0.1/24"). */
export interface Cidr extends Ip {
  readonly prefix: number;
}

/** Address width in bits. */
export function bitsOf(family: Family): 32 | 128 {
  return family === 4 ? 32 : 128;
}

const V4_PART = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/**
 * Parses an address in a standard text form: IPv4 as four decimal parts 0-255 without leading
 * zeros (leading zeros are ambiguous: `ip` reads them as octal); IPv6 as RFC 4291 text in any
 * case, with or without "::" and a dotted IPv4 tail. No whitespace, no prefix, no zone.
 * Undefined when the text is none of these.
 */
export function parseIp(text: string): Ip | undefined {
  return text.includes(":") ? parseV6(text) : parseV4(text);
}

function parseV4(text: string): Ip | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => V4_PART.test(p) && Number(p) <= 255)) return undefined;
  return { family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
}

function parseV6(text: string): Ip | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): number[] | undefined => {
    if (s === "") return [];
    const words = s.split(":");
    const out: number[] = [];
    for (const [i, w] of words.entries()) {
      if (i === words.length - 1 && w.includes(".")) {
        const v4 = parseV4(w);
        if (!v4) return undefined;
        out.push(Number(v4.value >> 16n), Number(v4.value & 0xffffn));
      } else if (HEX_GROUP.test(w)) out.push(parseInt(w, 16));
      else return undefined;
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 tail is only allowed at the very end.
  if (halves.length === 2 && halves[0]!.includes(".")) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const words = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return { family: 6, value: words.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n) };
}

/** Parses "<address>/<prefix>" (prefix in decimal, no leading zeros, within the family's width). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const p = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > bitsOf(ip.family)) return undefined;
  return { ...ip, prefix: Number(p) };
}

/** The canonical text of an address (what `ip` prints). */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) return v4Text(ip.value);
  const words = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // The first longest run of at least two zero words becomes "::" (glibc inet_ntop, RFC 5952).
  let best = { base: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len) best = { base: i, len: j - i };
    i = j;
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses keep a dotted tail.
  const dotted = best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff));
  const hex = (from: number, to: number) => words.slice(from, to).map((w) => w.toString(16));
  if (dotted) return `::${best.len === 5 ? "ffff:" : ""}${v4Text(ip.value & 0xffffffffn)}`;
  if (best.base < 0) return hex(0, 8).join(":");
  return `${hex(0, best.base).join(":")}::${hex(best.base + best.len, 8).join(":")}`;
}

function v4Text(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join(".");
}

/** The canonical text of a CIDR, e.g. "10.0.0.1/24", "2001:db8::1/64". */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c)}/${c.prefix}`;
}

/** The family of an address or CIDR text in a standard form; undefined when it is neither. */
export function familyOf(text: string): Family | undefined {
  return (parseCidr(text) ?? parseIp(text))?.family;
}

/** The netmask of a prefix length as an integer (prefix 24 of IPv4: 0xffffff00). */
export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefix))) & all;
}

/** The first address of the prefix (host bits cleared). */
export function network(c: Cidr): Ip {
  return { family: c.family, value: c.value & maskOf(c.family, c.prefix) };
}

/** The last address of the prefix (host bits set): the IPv4 broadcast address. */
export function broadcast(c: Cidr): Ip {
  const bits = bitsOf(c.family);
  return { family: c.family, value: c.value | (((1n << BigInt(bits)) - 1n) ^ maskOf(c.family, c.prefix)) };
}

/** The prefix itself, with its host bits cleared: "10.8.0.1/16" gives "10.8.0.0/16". */
export function networkCidr(c: Cidr): Cidr {
  return { ...network(c), prefix: c.prefix };
}

/** Whether the address has bits set beyond the prefix (a route destination must not). */
export function hasHostBits(c: Cidr): boolean {
  return network(c).value !== c.value;
}

/** Whether `x` (an address, or every address of a prefix) lies within the prefix `c`. */
export function contains(c: Cidr, x: Ip | Cidr): boolean {
  if (c.family !== x.family) return false;
  if ("prefix" in x && x.prefix < c.prefix) return false;
  const m = maskOf(c.family, c.prefix);
  return (x.value & m) === (c.value & m);
}

export function isUnspecified(ip: Ip): boolean {
  return ip.value === 0n;
}

/** IPv4 224.0.0.0/4, IPv6 ff00::/8. */
export function isMulticast(ip: Ip): boolean {
  return ip.family === 4 ? ip.value >> 28n === 0xen : ip.value >> 120n === 0xffn;
}

/** IPv4 255.255.255.255. */
export function isLimitedBroadcast(ip: Ip): boolean {
  return ip.family === 4 && ip.value === 0xffffffffn;
}

/** IPv6 fe80::/10 (a gateway there is only meaningful with its device). */
export function isLinkLocal(ip: Ip): boolean {
  return ip.family === 6 ? ip.value >> 118n === 0x3fan : ip.value >> 16n === 0xa9fen;
}

/**
 * Why `text` is not the canonical form of an address (no prefix), with the canonical form when
 * one can be derived; undefined when it is canonical.
 */
export function ipProblem(text: string): string | undefined {
  return problem(text, "none");
}

/**
 * Why `text` is not a canonical CIDR with an explicit prefix length ("10.0.0.1/24",
 * "2001:db8::1/64"), with the canonical form when one can be derived; undefined when it is.
 * Host bits are allowed here (an interface address has them); see hasHostBits.
 */
export function cidrProblem(text: string): string | undefined {
  return problem(text, "required");
}

const EXAMPLES = { none: `e.g. "10.0.0.1" or "2001:db8::1"`, required: `e.g. "10.0.0.1/24" or "2001:db8::1/64"` };

function problem(text: string, prefix: "none" | "required"): string | undefined {
  const [addr, ...rest] = text.trim().split("/");
  const len = rest.length === 1 ? rest[0]! : undefined;
  if (rest.length > 1 || (prefix === "none" && rest.length > 0)) {
    return prefix === "none" ? `give an address without a prefix length, ${EXAMPLES.none}` : `it is not an address with one prefix length, ${EXAMPLES.required}`;
  }
  const read = readLenient(addr ?? "");
  if (!read) return `it is not an IPv4 or IPv6 address; use the canonical form, ${EXAMPLES[prefix]}`;
  const bits = bitsOf(read.ip.family);
  if (prefix === "required") {
    if (len === undefined) {
      return `give the prefix length explicitly, e.g. "${formatIp(read.ip)}/${read.ip.family === 4 ? 24 : 64}" (or "/${bits}" for a single address)`;
    }
    if (!/^[0-9]+$/.test(len.trim()) || Number(len) > bits) return `the prefix length must be an integer from 0 to ${bits} for IPv${read.ip.family}`;
  }
  const canonical = formatIp(read.ip) + (len === undefined ? "" : `/${Number(len)}`);
  if (canonical === text) return undefined;
  return `it is not in canonical form; write "${canonical}"${read.note ? ` (${read.note})` : ""}. ${CANONICAL[read.ip.family]}`;
}

const CANONICAL = {
  4: "IPv4 is written as four decimal parts 0-255 without leading zeros.",
  6: "IPv6 is written as RFC 5952 text: lower case, no leading zeros, the longest run of zero groups as \"::\".",
};

/**
 * A reading of address text in the forms `ip` accepts beyond the standard one (fewer than four
 * parts, hex and octal-looking parts, a 32-bit number, upper-case or uncompressed IPv6), for
 * naming the canonical form in a message. Leading zeros are read as decimal, with a note that
 * `ip` would read them as octal.
 */
function readLenient(text: string): { ip: Ip; note?: string } | undefined {
  const t = text.trim();
  if (t.includes(":")) {
    const ip = parseV6(t);
    return ip && { ip };
  }
  const parts = t.split(".");
  if (parts.length > 4 || parts.some((p) => !/^(0x[0-9a-f]+|[0-9]+)$/i.test(p))) return undefined;
  const nums = parts.map((p) => (/^0x/i.test(p) ? parseInt(p, 16) : parseInt(p, 10)));
  if (parts.length === 1 && nums[0]! > 255) {
    return nums[0]! <= 0xffffffff ? { ip: { family: 4, value: BigInt(nums[0]!) }, note: `"${t}" read as one 32-bit number` } : undefined;
  }
  if (nums.some((n) => n > 255)) return undefined;
  // Missing parts are zeros at the end, as `ip` reads "10.1/24" (10.1.0.0/24).
  while (nums.length < 4) nums.push(0);
  const ip: Ip = { family: 4, value: nums.reduce((acc, n) => (acc << 8n) | BigInt(n), 0n) };
  const octal = parts.some((p) => /^0[0-7]+$/.test(p));
  if (!octal) return { ip };
  const asIp = parts.map((p) => (/^0[0-7]+$/.test(p) ? parseInt(p, 8) : /^0x/i.test(p) ? parseInt(p, 16) : parseInt(p, 10)));
  while (asIp.length < 4) asIp.push(0);
  return { ip, note: `ip would read the leading zeros as octal: ${asIp.join(".")}` };
}
