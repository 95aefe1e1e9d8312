// What the TrafficControl kind asks of `tc`, decided without running anything: the units `tc`
// users write, and the qdiscs that give a shaping. A rate is a `tbf` (token bucket); delay,
// jitter, loss, duplication and corruption are a `netem`. With both, netem is the root and the tbf
// its child (`parent <netem>:1`), so that the first command of a create is the one that needs the
// netem module: without it, the create fails before anything changed.

export interface Shaping {
  rate?: string;
  burst?: string;
  delay?: string;
  jitter?: string;
  loss?: string;
  duplicate?: string;
  corrupt?: string;
  limit?: number;
}

export const SHAPING_KEYS = ["rate", "burst", "delay", "jitter", "loss", "duplicate", "corrupt", "limit"] as const satisfies readonly (keyof Shaping)[];

/** The inputs a netem does (the rest, rate and burst, a tbf). */
export const NETEM_KEYS = ["delay", "jitter", "loss", "duplicate", "corrupt"] as const;

const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12, bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, tbps: 8e12 };
const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, kbit: 1024 / 8, mbit: 1024 ** 2 / 8, gbit: 1024 ** 3 / 8 };
const TIME_UNITS: Record<string, number> = { s: 1e6, ms: 1e3, us: 1 };

function parse(text: string, units: Record<string, number>): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/.exec(text);
  const unit = m && units[m[2]!];
  return unit === undefined || unit === null ? undefined : Number(m![1]) * unit;
}

/** Bits per second of a tc rate ("8mbit", "1gbit", "500kbps": bps is bytes per second, as in tc). */
export function rateBits(text: string): number | undefined {
  return parse(text, RATE_UNITS);
}

export function rateProblem(v: string): string | undefined {
  const bits = rateBits(v);
  if (bits === undefined) return `use a number and one of tc's rate units: ${Object.keys(RATE_UNITS).join(", ")} (bit: bits, bps: bytes per second), e.g. "8mbit"`;
  return bits >= 8 ? undefined : "use at least 8bit (one byte per second)";
}

export function sizeProblem(v: string): string | undefined {
  const bytes = parse(v, SIZE_UNITS);
  if (bytes === undefined) return `use a number of bytes, optionally with one of tc's size units: ${Object.keys(SIZE_UNITS).filter((u) => u).join(", ")} (kb = 1024 bytes), e.g. "32kb"`;
  return bytes >= 1600 ? undefined : "use at least 1600 bytes: a burst smaller than one full packet passes nothing";
}

export function timeProblem(v: string): string | undefined {
  return parse(v, TIME_UNITS) === undefined ? `use a number and one of s, ms, us, e.g. "20ms"` : undefined;
}

export function percentProblem(v: string): string | undefined {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(v);
  return m && Number(m[1]) <= 100 ? undefined : `use a percentage from 0% to 100%, e.g. "1%" or "0.5%"`;
}

/** The burst of a tbf when none is given: 10 ms at the rate, and at least 16 KiB. */
export function defaultBurst(rate: string): string {
  return `${Math.max(16384, Math.ceil((rateBits(rate) ?? 0) / 8 / 100))}b`;
}

/** Bytes a tbf may queue per packet of `limit`: a full Ethernet frame. */
const FRAME = 1514;
/** How long a tbf queues a packet when no limit is given. */
const TBF_LATENCY = "50ms";

export interface Qdisc {
  kind: "tbf" | "netem";
  /** "root", or "<major>:1" below the root. */
  parent: string;
  /** "<major>:", hex. */
  handle: string;
  /** Its parameters, as tc's argv after the kind. */
  args: string[];
}

/** nslab's handle of a qdisc: a major number from the owner hash (1 to fffe), so it tells ours from others. */
export function handleOf(ownerHash: string, child = false): string {
  const major = (parseInt(ownerHash.slice(0, 4), 16) % 0xfffe) + 1;
  return `${(child ? (major % 0xfffe) + 1 : major).toString(16)}:`;
}

export const needsNetem = (s: Shaping) => NETEM_KEYS.some((k) => s[k] !== undefined);

/** The qdiscs of a shaping, root first: the order they are added in. */
export function qdiscsOf(s: Shaping, ownerHash: string): Qdisc[] {
  const root = handleOf(ownerHash);
  const netem = needsNetem(s);
  const qdiscs: Qdisc[] = [];
  if (netem) {
    const args = [
      ...(s.limit !== undefined ? ["limit", String(s.limit)] : []),
      ...(s.delay !== undefined ? ["delay", s.delay, ...(s.jitter !== undefined ? [s.jitter] : [])] : []),
      ...(s.loss !== undefined ? ["loss", s.loss] : []),
      ...(s.duplicate !== undefined ? ["duplicate", s.duplicate] : []),
      ...(s.corrupt !== undefined ? ["corrupt", s.corrupt] : []),
    ];
    qdiscs.push({ kind: "netem", parent: "root", handle: root, args });
  }
  if (s.rate !== undefined) {
    const queue = s.limit !== undefined && !netem ? ["limit", String(s.limit * FRAME)] : ["latency", TBF_LATENCY];
    const args = ["rate", s.rate, "burst", s.burst ?? defaultBurst(s.rate), ...queue];
    qdiscs.push(netem ? { kind: "tbf", parent: `${root}1`, handle: handleOf(ownerHash, true), args } : { kind: "tbf", parent: "root", handle: root, args });
  }
  return qdiscs;
}

/** `tc [-n NETNS] qdisc <verb> dev DEV <parent> handle H: <kind> <args>`. */
export function qdiscArgv(netns: string | undefined, device: string, verb: "add" | "change" | "replace", q: Qdisc): string[] {
  const parent = q.parent === "root" ? ["root"] : ["parent", q.parent];
  return ["tc", ...(netns ? ["-n", netns] : []), "qdisc", verb, "dev", device, ...parent, "handle", q.handle, q.kind, ...q.args];
}

/** The layout of a shaping, to tell whether an update can `tc qdisc change` in place. */
export function layoutOf(qdiscs: readonly Qdisc[]): string {
  return qdiscs.map((q) => `${q.parent}>${q.handle}${q.kind}`).join(" ");
}
