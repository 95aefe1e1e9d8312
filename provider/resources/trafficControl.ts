import type { KindProvider } from "../lib/kind";
import { NslabError, withResource } from "../errors";
import { failedWith } from "../driver/exec";
import { where } from "../driver/link";
import { addQdiscs, changeQdiscs, delRootQdisc, listQdiscs, probeNetem, type QdiscInfo } from "../driver/tc";
import { commonRules, identityProblem, intInRange, required, rule, ruleUnset, validate } from "../lib/check";
import { planDiff, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { HOST_CRITICAL_LINKS, ifnameProblem, netnsNameProblem } from "../lib/names";
import { ownerHash, type Owner } from "../lib/owner";
import type { Host } from "../lib/host";
import { layoutOf, needsNetem, percentProblem, qdiscsOf, rateBits, rateProblem, SHAPING_KEYS, sizeProblem, timeProblem, type Qdisc, type Shaping } from "../lib/tc";

// TrafficControl: rate, delay and loss on the egress of one link end, as root qdiscs of the device
// (lib/tc.ts decides which). Marked by their handle, a major number from the owner hash: a root
// qdisc of another handle is someone else's and refused unless adopted (then replaced); the
// kernel's default root (handle 0:) is nobody's. Parameters change in place (`tc qdisc change`);
// a change of which qdiscs are needed (a delay added to a rate) deletes ours and adds the new
// ones, after checking that the kernel has netem when it did not need it before.

export interface TrafficControlInputs extends Shaping {
  device: string;
  netns?: string;
  deviceIdentity?: string;
  netnsIdentity?: string;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export interface TrafficControlOutputs extends TrafficControlInputs {
  /** The root qdisc's handle, nslab's mark. */
  handle: string;
}

const KIND = "TrafficControl";

const rules = [
  ...commonRules<TrafficControlInputs>(),
  required<TrafficControlInputs>("device", "the interface whose egress is shaped"),
  rule<TrafficControlInputs, "device">("device", (v, i) =>
    i.netns === undefined && HOST_CRITICAL_LINKS.has(v) ? `"${v}" in the host's namespace carries this machine's own traffic; nslab does not shape it` : ifnameProblem(v),
  ),
  rule<TrafficControlInputs, "netns">("netns", netnsNameProblem),
  rule<TrafficControlInputs, "deviceIdentity">("deviceIdentity", identityProblem("device")),
  ruleUnset<TrafficControlInputs, "rate">("rate", (v, i) =>
    v === undefined ? (SHAPING_KEYS.some((k) => k !== "limit" && k !== "burst" && i[k] !== undefined) ? undefined : "set at least one of rate, delay, loss, duplicate, corrupt") : rateProblem(v),
  ),
  rule<TrafficControlInputs, "burst">("burst", (v, i) => (i.rate === undefined ? "burst is the bucket of a rate: set rate too, or leave burst out" : sizeProblem(v))),
  rule<TrafficControlInputs, "delay">("delay", timeProblem),
  rule<TrafficControlInputs, "jitter">("jitter", (v, i) => (i.delay === undefined ? "jitter varies a delay: set delay too" : timeProblem(v))),
  rule<TrafficControlInputs, "loss">("loss", percentProblem),
  rule<TrafficControlInputs, "duplicate">("duplicate", percentProblem),
  rule<TrafficControlInputs, "corrupt">("corrupt", percentProblem),
  rule<TrafficControlInputs, "limit">("limit", intInRange(1, 1_000_000, " packets")),
];

const DIFF: DiffSpec<TrafficControlInputs> = DIFFS.TrafficControl;

const idOf = (i: TrafficControlInputs) => `tc:${i.netns ?? "-"}/${i.device}`;
const shapingOf = (i: Shaping) => JSON.stringify(SHAPING_KEYS.map((k) => i[k] ?? null));

/** Whether the device's qdiscs are exactly `qdiscs` (kinds and handles). */
function intact(found: QdiscInfo[], qdiscs: readonly Qdisc[]): boolean {
  return qdiscs.every((q) => found.some((f) => f.kind === q.kind && f.handle === q.handle && (q.parent === "root" ? f.root === true : f.parent === q.parent)));
}

export const trafficControl: KindProvider<TrafficControlInputs, TrafficControlOutputs> = {
  async check(_olds, news) {
    return { inputs: news, failures: validate(news, rules) };
  },

  async diff(_id, olds, news) {
    const d = planDiff(olds, news, DIFF);
    return d.changes || shapingOf(olds) === shapingOf(news) ? d : { ...d, changes: true };
  },

  async create(inputs) {
    const qdiscs = qdiscsOf(inputs, ownerHash(inputs.owner));
    const root = qdiscs[0]!;
    return withResource(KIND, inputs.owner, "create", async () => {
      const found = (await rootOf(inputs)) ?? { kind: "noqueue", handle: "0:" };
      if (found.handle === root.handle) {
        // Ours already (a create retried after a crash): made to match.
        await apply(inputs, found, qdiscs);
      } else {
        if (found.handle !== "0:" && !inputs.adopt) throw foreign(inputs, found);
        // `replace` swaps an adopted root for ours in one step, so a missing module changes nothing.
        await addQdiscs(inputs.netns, inputs.device, qdiscs, found.handle === "0:" ? "add" : "replace");
      }
      return { id: idOf(inputs), outs: { ...inputs, handle: root.handle } };
    });
  },

  async read(id, props) {
    if (!props) return {};
    let found: QdiscInfo[];
    try {
      found = await listQdiscs(props.netns, props.device);
    } catch (err) {
      if (failedWith(err, "NOT_FOUND", "NO_NETNS")) return {};
      throw err;
    }
    const qdiscs = qdiscsOf(props, ownerHash(props.owner));
    if (!intact(found, qdiscs)) return {};
    // A rate changed by hand is drift that the next up changes back.
    const tbf = found.find((f) => f.kind === "tbf" && f.handle === qdiscs.at(-1)!.handle)?.options;
    const bits = tbf && (tbf.rate64 ?? tbf.rate ?? 0) * 8;
    const rate = props.rate !== undefined && bits !== undefined && bits !== rateBits(props.rate) ? `${bits}bit` : props.rate;
    return { id, props: { ...props, rate } };
  },

  async update(_id, olds, news) {
    const qdiscs = qdiscsOf(news, ownerHash(news.owner));
    return withResource(KIND, news.owner, "update", async () => {
      await apply(news, { kind: qdiscsOf(olds, ownerHash(olds.owner))[0]!.kind, handle: olds.handle }, qdiscs, olds);
      return { outs: { ...news, handle: qdiscs[0]!.handle } };
    });
  },

  async delete(_id, props) {
    await withResource(KIND, props.owner, "delete", () => delRootQdisc(props.netns, props.device, props.handle));
  },
};

/** The device's root qdisc, or undefined for the kernel's default; a clear error when the device or namespace is missing. */
async function rootOf(i: TrafficControlInputs): Promise<QdiscInfo | undefined> {
  try {
    return (await listQdiscs(i.netns, i.device)).find((q) => q.root && q.handle !== "0:");
  } catch (err) {
    if (failedWith(err, "NOT_FOUND")) {
      throw new NslabError("NOT_FOUND", `device "${i.device}" does not exist in ${where(i.netns)}. Pass the VethPair or Bridge resource itself as device (or \`vethPair.peer\`), which creates the shaping after the link\n${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Makes our qdiscs (root `current`) into `qdiscs`: in place when the layout is the same, else
 * deleted and added again, after a netem probe when the old layout had none.
 */
async function apply(i: TrafficControlInputs, current: Pick<QdiscInfo, "kind" | "handle">, qdiscs: readonly Qdisc[], olds?: Shaping): Promise<void> {
  const old = olds ? qdiscsOf(olds, ownerHash(i.owner)) : undefined;
  if (old && current.handle === qdiscs[0]!.handle && layoutOf(old) === layoutOf(qdiscs)) return changeQdiscs(i.netns, i.device, qdiscs);
  if (!olds && current.kind === qdiscs[0]!.kind && qdiscs.length === 1) return changeQdiscs(i.netns, i.device, qdiscs);
  if (needsNetem(i) && current.kind !== "netem") await probeNetem(i.netns, i.device, { kind: "tbf", parent: "root", handle: current.handle, args: [] });
  await delRootQdisc(i.netns, i.device, current.handle);
  await addQdiscs(i.netns, i.device, qdiscs, "add");
}

function foreign(i: TrafficControlInputs, found: QdiscInfo): NslabError {
  const ns = i.netns ? `-n ${i.netns} ` : "";
  return new NslabError(
    "CONFLICT",
    `"${i.device}" in ${where(i.netns)} already has a root qdisc ${found.kind} (handle ${found.handle}) that nslab did not make (nslab's would have handle ${qdiscsOf(i, ownerHash(i.owner))[0]!.handle}). ` +
      `Remove it with: tc ${ns}qdisc del dev ${i.device} root, or set adopt: true to replace it with this resource's.`,
  );
}
