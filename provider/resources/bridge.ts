import type { KindProvider } from "../lib/kind";
import { NslabError, withResource } from "../errors";
import { failedWith } from "../driver/exec";
import {
  addBridge,
  bridgeStpArgs,
  findLink,
  getLink,
  hostCriticalProblem,
  isUp,
  macFromHash,
  markLink,
  undoCreate,
  type LinkInfo,
} from "../driver/link";
import { ifnameProblem, netnsNameProblem } from "../lib/names";
import { missingNetnsError } from "../driver/netns";
import { booleanProblem, commonRules, intInRange, required, rule } from "../lib/check";
import { changedKeys, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { checkAndDiff, delOwnLink, linkId, mayTakeLink, ownLink } from "../lib/linkKind";
import { ownerHash, type Owner } from "../lib/owner";
import type { Host } from "../lib/host";

// Bridge: a Linux bridge with a MAC pinned at creation (derived from the owner, so the same
// resource always gets the same one) and an MTU and STP that are managed only when given.

export interface BridgeInputs {
  name: string;
  netns?: string;
  /** Incarnation of the Netns resource passed as netns: a re-created namespace replaces the bridge. */
  netnsIdentity?: string;
  mtu?: number;
  stp?: boolean;
  up: boolean;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export interface BridgeOutputs extends BridgeInputs {
  ifindex: number;
  mac: string;
}

const KIND = "Bridge" as const;

const rules = [
  ...commonRules<BridgeInputs>(),
  required<BridgeInputs>("name", "the bridge's kernel name"),
  rule<BridgeInputs, "name">("name", ifnameProblem),
  rule<BridgeInputs, "netns">("netns", netnsNameProblem),
  rule<BridgeInputs, "mtu">("mtu", intInRange(68, 65535, " bytes (the kernel's range for bridges)")),
  rule<BridgeInputs, "stp">("stp", (v) => (typeof v === "boolean" ? undefined : "use true (STP on, 2 s forward delay) or false")),
  rule<BridgeInputs, "up">("up", booleanProblem),
];

const DIFF: DiffSpec<BridgeInputs> = DIFFS.Bridge;

export const bridge: KindProvider<BridgeInputs, BridgeOutputs> = {
  ...checkAndDiff({ kind: KIND, rules, diff: DIFF, defaults: { up: true } }),

  async create(inputs) {
    const { netns, name } = inputs;
    const hash = ownerHash(inputs.owner);
    const mac = macFromHash(hash);
    const id = linkId(netns, name);
    return withResource(KIND, inputs.owner, "create", async () => {
      const critical = await hostCriticalProblem(netns, name, false);
      if (critical) throw new NslabError("INVALID", `name: ${critical}`);
      let made = await add(inputs, mac);
      if (!made) {
        const link = await findLink(netns, name);
        if (link) await mayTakeLink(inputs, link, hash, "bridge");
        else made = await add(inputs, mac, true); // gone meanwhile
      }
      try {
        // A bridge made here has its MAC and STP already; an adopted one gets them now. The MTU
        // is always set here, after creation, which is what pins it (see addBridge).
        const stp = !made && inputs.stp !== undefined ? ["type", "bridge", ...bridgeStpArgs(inputs.stp)] : [];
        await markLink(netns, name, hash, { mtu: inputs.mtu, mac: made ? undefined : mac, up: inputs.up }, stp);
        return { id, outs: outputsOf(inputs, await getLink(netns, name)) };
      } catch (err) {
        if (!made) throw err;
        return await undoCreate(netns, name, id, { ...inputs }, err);
      }
    });
  },

  async read(id, props) {
    const link = props && (await ownLink(props.netns, props.name, "bridge", props.owner));
    return link ? { id, props: outputsOf(props, link) } : {};
  },

  async update(_id, olds, news) {
    const changed = changedKeys(olds, news, DIFF.update);
    const has = (k: (typeof changed)[number]) => changed.includes(k);
    return withResource(KIND, news.owner, "update", async () => {
      if (changed.length) {
        await markLink(
          news.netns,
          news.name,
          ownerHash(news.owner),
          { mtu: has("mtu") ? news.mtu : undefined, up: has("up") ? news.up : undefined },
          has("stp") ? ["type", "bridge", ...bridgeStpArgs(news.stp!)] : [],
        );
      }
      return { outs: outputsOf({ ...olds, ...news }, await getLink(news.netns, news.name)) };
    });
  },

  async delete(_id, props) {
    return withResource(KIND, props.owner, "delete", async () => {
      // Its ports survive (detached), as after `ip link del` of any bridge.
      await delOwnLink(props.netns, props.name, "bridge", props.owner);
    });
  },
};

/** Creates the bridge; false when the name is taken (then the caller looks at what holds it). */
async function add(i: BridgeInputs, mac: string, again = false): Promise<boolean> {
  try {
    await addBridge({ netns: i.netns, name: i.name, mac, hash: ownerHash(i.owner), mtu: i.mtu, stp: i.stp });
    return true;
  } catch (err) {
    if (failedWith(err, "NO_NETNS")) {
      throw missingNetnsError("netns", i.netns!, err);
    }
    if (failedWith(err, "ALREADY_EXISTS") && !again) return false;
    throw err;
  }
}

/** The inputs (or stored outputs) with what the kernel reports: MTU, STP and admin state (docs/kernel-facts.md, D4, D9). */
function outputsOf(base: BridgeInputs, link: LinkInfo): BridgeOutputs {
  return {
    ...base,
    mtu: link.mtu,
    stp: Number(link.linkinfo?.info_data?.stp_state ?? 0) !== 0,
    up: isUp(link),
    ifindex: link.ifindex,
    mac: link.address ?? "",
  };
}
