import type { KindProvider } from "../lib/kind";
import { NslabError, withResource } from "../errors";
import { failedWith } from "../driver/exec";
import type { Netns } from "../driver/ip";
import {
  addVeth,
  delLink,
  delLinkCommand,
  findLink,
  foreignLinkError,
  getLink,
  hostCriticalProblem,
  isUp,
  isVethPair,
  kindOf,
  macProblem,
  markLink,
  ownershipOf,
  requireBridge,
  where,
  wrongKindError,
  undoCreate,
  type LinkInfo,
  type LinkSettings,
} from "../driver/link";
import { ifnameProblem, netnsNameProblem } from "../lib/names";
import { findNetns, missingNetnsError } from "../driver/netns";
import { booleanProblem, commonRules, identityProblem, intInRange, isUnknown, required, rule } from "../lib/check";
import { changedKeys, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { checkAndDiff, delOwnLink, linkId } from "../lib/linkKind";
import { ownerHash, type Owner } from "../lib/owner";
import type { Host } from "../lib/host";

// VethPair: two connected veth ends, each optionally in a namespace and enslaved to a bridge.
// Both ends are created by one atomic `ip link add` carrying the owner's group mark, then aliased,
// enslaved and brought up. The id names the first end; the stored outputs name the peer.

export interface VethPairInputs {
  name: string;
  peerName: string;
  netns?: string;
  /** Incarnation of the Netns resource passed as netns: a re-created namespace replaces the pair. */
  netnsIdentity?: string;
  peerNetns?: string;
  peerNetnsIdentity?: string;
  master?: string;
  /** Incarnation of the Bridge passed as master: a re-created bridge has lost this port, re-enslave. */
  masterIdentity?: string;
  peerMaster?: string;
  peerMasterIdentity?: string;
  mtu?: number;
  mac?: string;
  peerMac?: string;
  up: boolean;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export interface VethPairOutputs extends VethPairInputs {
  ifindex: number;
  peerIfindex: number;
}

const KIND = "VethPair" as const;

const mac = (v: string) => (typeof v === "string" ? macProblem(v) : "use a string");

const rules = [
  ...commonRules<VethPairInputs>(),
  required<VethPairInputs>("name", "the kernel name of the first end"),
  rule<VethPairInputs, "name">("name", ifnameProblem),
  required<VethPairInputs>("peerName", "the kernel name of the second end"),
  rule<VethPairInputs, "peerName">("peerName", ifnameProblem),
  rule<VethPairInputs, "peerName">("peerName", (v, i) =>
    v === i.name && (i.netns ?? "") === (i.peerNetns ?? "") && ![i.name, i.netns, i.peerNetns].some(isUnknown)
      ? `both ends are in ${where(i.netns)}, where one name can belong to one link only; choose another peerName or put the peer in another namespace (peerNetns)`
      : undefined,
  ),
  rule<VethPairInputs, "netns">("netns", netnsNameProblem),
  rule<VethPairInputs, "peerNetns">("peerNetns", netnsNameProblem),
  rule<VethPairInputs, "master">("master", ifnameProblem),
  rule<VethPairInputs, "peerMaster">("peerMaster", ifnameProblem),
  rule<VethPairInputs, "masterIdentity">("masterIdentity", identityProblem("master")),
  rule<VethPairInputs, "peerMasterIdentity">("peerMasterIdentity", identityProblem("peerMaster")),
  rule<VethPairInputs, "mtu">("mtu", intInRange(68, 65535, " bytes (the kernel's range for veth ends)")),
  rule<VethPairInputs, "mac">("mac", mac),
  rule<VethPairInputs, "peerMac">("peerMac", mac),
  rule<VethPairInputs, "up">("up", booleanProblem),
];

const DIFF: DiffSpec<VethPairInputs> = DIFFS.VethPair;


interface End {
  netns: Netns;
  name: string;
  property: string;
}
const first = (i: VethPairInputs): End => ({ netns: i.netns, name: i.name, property: "name" });
const second = (i: VethPairInputs): End => ({ netns: i.peerNetns, name: i.peerName, property: "peerName" });

export const vethPair: KindProvider<VethPairInputs, VethPairOutputs> = {
  ...checkAndDiff({ kind: KIND, rules, diff: DIFF, defaults: { up: true } }),

  async create(inputs) {
    const hash = ownerHash(inputs.owner);
    const id = linkId(inputs.netns, inputs.name);
    return withResource(KIND, inputs.owner, "create", async () => {
      for (const end of [first(inputs), second(inputs)]) {
        const problem = await hostCriticalProblem(end.netns, end.name, false);
        if (problem) throw new NslabError("INVALID", `${end.property}: ${problem}`);
      }
      if (inputs.master) await requireBridge(inputs.netns, inputs.master, "master");
      if (inputs.peerMaster) await requireBridge(inputs.peerNetns, inputs.peerMaster, "peerMaster");
      let made = await add(inputs);
      if (!made && (await takeExisting(inputs, hash)) === "recreate") made = await add(inputs, true);
      try {
        // A pair made here already has its group, MTU and MACs; an adopted one gets them now.
        const extra = (mac: string | undefined): LinkSettings => (made ? {} : { mtu: inputs.mtu, mac });
        // Each end is read (without details: outputsOf needs none) as it is set, so the read
        // runs right after the write, as the next line of the same `ip` (driver/batch.ts).
        const [, , a, b] = await Promise.all([
          markLink(inputs.netns, inputs.name, hash, { ...extra(inputs.mac), master: inputs.master, up: inputs.up }),
          markLink(inputs.peerNetns, inputs.peerName, hash, { ...extra(inputs.peerMac), master: inputs.peerMaster, up: inputs.up }),
          getLink(inputs.netns, inputs.name, false),
          getLink(inputs.peerNetns, inputs.peerName, false),
        ]);
        return { id, outs: outputsOf(inputs, a, b) };
      } catch (err) {
        if (!made) throw err;
        return await undoCreate(inputs.netns, inputs.name, id, { ...inputs }, err);
      }
    });
  },

  async read(id, props) {
    if (!props) return {};
    const [a, b] = await Promise.all([findLink(props.netns, props.name), findLink(props.peerNetns, props.peerName)]);
    // A deleted end takes the other with it (docs/kernel-facts.md, D1); an end moved elsewhere is gone from its place
    // (D6); a pair that is no longer ours is not this resource's any more.
    if (!a || !b || !isVethPair(a, b, props.netns === props.peerNetns) || ownershipOf(a, ownerHash(props.owner)) !== "ours") return {};
    return { id, props: outputsOf(props, a, b) };
  },

  async update(_id, olds, news) {
    const changed = changedKeys(olds, news, DIFF.update);
    const hash = ownerHash(news.owner);
    return withResource(KIND, news.owner, "update", async () => {
      const has = (...keys: typeof changed) => keys.some((k) => changed.includes(k));
      const both: LinkSettings = { mtu: has("mtu") ? news.mtu : undefined, up: has("up") ? news.up : undefined };
      const master = has("master", "masterIdentity") ? news.master : undefined;
      const peerMaster = has("peerMaster", "peerMasterIdentity") ? news.peerMaster : undefined;
      if (master) await requireBridge(news.netns, master, "master");
      if (peerMaster) await requireBridge(news.peerNetns, peerMaster, "peerMaster");
      const [, , a, b] = await Promise.all([
        changed.length && markLink(news.netns, news.name, hash, { ...both, mac: has("mac") ? news.mac : undefined, master }),
        changed.length && markLink(news.peerNetns, news.peerName, hash, { ...both, mac: has("peerMac") ? news.peerMac : undefined, master: peerMaster }),
        getLink(news.netns, news.name, false),
        getLink(news.peerNetns, news.peerName, false),
      ]);
      return { outs: outputsOf({ ...olds, ...news }, a, b) };
    });
  },

  async delete(_id, props) {
    return withResource(KIND, props.owner, "delete", async () => {
      // Deleting one end deletes the other.
      await delOwnLink(props.netns, props.name, "veth", props.owner);
    });
  },
};

/** Creates the pair; false when a name is taken (then the caller looks at what holds it). */
async function add(i: VethPairInputs, again = false): Promise<boolean> {
  try {
    await addVeth({ netns: i.netns, name: i.name, mac: i.mac }, { netns: i.peerNetns, name: i.peerName, mac: i.peerMac }, ownerHash(i.owner), i.mtu);
    return true;
  } catch (err) {
    if (failedWith(err, "NO_NETNS")) throw await missingNetns(i, err);
    if (failedWith(err, "ALREADY_EXISTS") && !again) return false;
    throw err;
  }
}

/**
 * What holds the names after `ip link add` found them taken: our own pair (a create retried after
 * a crash) or, with adopt, a foreign pair, is taken over ("adopt"); our own links in another shape
 * (a crash between changes) are removed so the pair is made again ("recreate"); anything else is
 * refused, and never deleted.
 */
async function takeExisting(i: VethPairInputs, hash: string): Promise<"adopt" | "recreate"> {
  const ends = [first(i), second(i)];
  const links = await Promise.all(ends.map((e) => findLink(e.netns, e.name)));
  for (const [n, link] of links.entries()) {
    const end = ends[n]!;
    if (!link) continue;
    const ownership = ownershipOf(link, hash);
    if (ownership !== "ours") {
      const problem = await hostCriticalProblem(end.netns, end.name, true);
      if (problem) throw new NslabError("INVALID", `${end.property}: ${problem}`);
    }
    if (kindOf(link) !== "veth") throw wrongKindError(end.netns, end.name, "veth", link);
    if (ownership !== "ours" && !i.adopt) throw foreignLinkError(end.netns, end.name, ownership);
  }
  const [a, b] = links;
  if (a && b && isVethPair(a, b, i.netns === i.peerNetns)) return "adopt";
  for (const [n, link] of links.entries()) {
    const end = ends[n]!;
    if (!link) continue;
    if (ownershipOf(link, hash) !== "ours") {
      const other = ends[1 - n]!;
      throw new NslabError(
        "CONFLICT",
        `"${end.name}" in ${where(end.netns)} is a veth whose peer is not "${other.name}" in ${where(other.netns)}; adopt takes over only that exact pair. ` +
          `Choose other names, or remove it with: ${delLinkCommand(end.netns, end.name)}`,
      );
    }
    await delLink(end.netns, end.name);
  }
  return "recreate";
}

/** The error for a pair whose namespace does not exist: which one, and how to order it first. */
async function missingNetns(i: VethPairInputs, err: unknown): Promise<Error> {
  for (const [property, ns] of [["netns", i.netns], ["peerNetns", i.peerNetns]] as const) {
    if (ns && (await findNetns(ns))?.state !== "live") return missingNetnsError(property, ns, err);
  }
  return err as Error;
}

/**
 * The outputs: the inputs (or stored outputs) with what the kernel reports for every setting,
 * managed or not, so read shows drift (docs/kernel-facts.md: D3 master, D4 down, D9 MTU). Keys whose value is unset are
 * left out, so the outputs are what the provider host sends (see provider/index.ts).
 */
function outputsOf(base: VethPairInputs, a: LinkInfo, b: LinkInfo): VethPairOutputs {
  const { master: _m, peerMaster: _pm, mtu: _mtu, ...rest } = base;
  return {
    ...rest,
    // The two ends differ only by hand: then no one MTU describes the pair and none is reported,
    // the same on every refresh (reporting the end that differs from the last report flipped
    // between the ends); a program's mtu then differs from the state, and up sets both ends.
    ...(a.mtu === b.mtu ? { mtu: a.mtu } : {}),
    ...(a.address ? { mac: a.address } : {}),
    ...(b.address ? { peerMac: b.address } : {}),
    ...(a.master ? { master: a.master } : {}),
    ...(b.master ? { peerMaster: b.master } : {}),
    up: isUp(a) && isUp(b),
    ifindex: a.ifindex,
    peerIfindex: b.ifindex,
  };
}
