import type { KindProvider } from "../lib/kind";
import { NslabError, withResource } from "../errors";
import { failedWith } from "../driver/exec";
import {
  delLinkCommand,
  findLink,
  getLink,
  hostCriticalProblem,
  isUp,
  markLink,
  requireBridge,
  undoCreate,
  where,
  type LinkInfo,
} from "../driver/link";
import { addVxlan, listRemotes, setRemotes, vniHolder, vxlanInfo, type VxlanInfo } from "../driver/vxlan";
import { ifnameProblem, netnsNameProblem } from "../lib/names";
import { missingNetnsError } from "../driver/netns";
import { booleanProblem, commonRules, identityProblem, intInRange, isUnknown, required, rule } from "../lib/check";
import { familyOf } from "../lib/cidr";
import { remoteList, underlayProblem, VXLAN_PORT } from "../lib/vxlan";
import { changedKeys, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { checkAndDiff, delOwnLink, linkId, mayTakeLink, ownLink } from "../lib/linkKind";
import type { Host } from "../lib/host";
import { ownerHash, type Owner } from "../lib/owner";

// Vxlan: a VXLAN tunnel endpoint, an Ethernet link whose frames travel in UDP to its remotes. Its
// VNI, remotes, local address, lower device and port are fixed at creation (a change replaces
// it); it may join a bridge (master) and has an MTU and admin state, changed in place. Several
// remotes make one device with a flood list (driver/vxlan.ts), never one device per peer.

export interface VxlanInputs {
  name: string;
  vni: number;
  /** The remotes' underlay addresses; check sorts them, so their order never replaces the link. */
  remote: string[];
  local?: string;
  device?: string;
  dstPort: number;
  netns?: string;
  /** Incarnation of the Netns resource passed as netns: a re-created namespace replaces the link. */
  netnsIdentity?: string;
  master?: string;
  /** Incarnation of the Bridge passed as master: a re-created bridge has lost this port, re-enslave. */
  masterIdentity?: string;
  mtu?: number;
  up: boolean;
  owner: Owner;
  adopt?: boolean;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
}

export interface VxlanOutputs extends VxlanInputs {
  ifindex: number;
  mac: string;
}

const KIND = "Vxlan" as const;

const rules = [
  ...commonRules<VxlanInputs>(),
  required<VxlanInputs>("name", "the vxlan link's kernel name"),
  rule<VxlanInputs, "name">("name", ifnameProblem),
  required<VxlanInputs>("vni", "the VXLAN network identifier, 1-16777215, the same on every end of the tunnel"),
  rule<VxlanInputs, "vni">("vni", intInRange(1, 16777215, " (24 bits; 0 is reserved)")),
  required<VxlanInputs>("remote", "the underlay address of the other end (or a list: every other end)"),
  rule<VxlanInputs, "remote">("remote", (v, i) => {
    if (!Array.isArray(v) || v.length === 0) return `give the other end's underlay address, e.g. "10.250.0.2", or a non-empty list of them`;
    for (const r of v) {
      if (isUnknown(r)) continue;
      const problem = underlayProblem(r);
      if (problem) return `${JSON.stringify(r)}: ${problem}`;
    }
    const families = new Set(v.filter((r) => !isUnknown(r)).map((r) => familyOf(r)));
    if (families.size > 1) return "mixes IPv4 and IPv6 addresses; a vxlan link's remotes are all of one family";
    if (typeof i.local === "string" && v.includes(i.local)) return `it holds the local address ${i.local}; give the other ends' addresses only`;
    return undefined;
  }),
  rule<VxlanInputs, "local">("local", underlayProblem),
  rule<VxlanInputs, "local">("local", (v, i) => {
    const r = Array.isArray(i.remote) ? i.remote.find((x) => typeof x === "string" && !isUnknown(x)) : undefined;
    return r && familyOf(r) !== familyOf(v) ? `it is not of the remotes' family (${r}); use this end's underlay address of that family` : undefined;
  }),
  rule<VxlanInputs, "device">("device", ifnameProblem),
  rule<VxlanInputs, "dstPort">("dstPort", intInRange(1, 65535, ` (UDP; ${VXLAN_PORT} is VXLAN's, the default)`)),
  rule<VxlanInputs, "netns">("netns", netnsNameProblem),
  rule<VxlanInputs, "master">("master", ifnameProblem),
  rule<VxlanInputs, "masterIdentity">("masterIdentity", identityProblem("master")),
  rule<VxlanInputs, "mtu">("mtu", intInRange(68, 65535, " bytes")),
  rule<VxlanInputs, "up">("up", booleanProblem),
];

const DIFF: DiffSpec<VxlanInputs> = DIFFS.Vxlan;

const base = checkAndDiff({ kind: KIND, rules, diff: DIFF, defaults: { up: true, dstPort: VXLAN_PORT } });

export const vxlan: KindProvider<VxlanInputs, VxlanOutputs> = {
  ...base,

  async check(olds, news) {
    return base.check(olds, { ...news, remote: remoteList(news.remote) as string[] });
  },

  async create(inputs) {
    const { netns, name } = inputs;
    const hash = ownerHash(inputs.owner);
    const id = linkId(netns, name);
    return withResource(KIND, inputs.owner, "create", async () => {
      const critical = await hostCriticalProblem(netns, name, false);
      if (critical) throw new NslabError("INVALID", `name: ${critical}`);
      if (inputs.master) await requireBridge(netns, inputs.master, "master");
      let made = await add(inputs);
      if (!made) {
        const link = await findLink(netns, name);
        if (link) await mayTake(inputs, link, hash);
        else made = await add(inputs, true); // gone meanwhile
      }
      try {
        // A link made here has its remotes; an adopted one gets exactly them now.
        if (!made) await setRemotes(netns, name, inputs.remote, await listRemotes(netns, name));
        await markLink(netns, name, hash, { mtu: made ? undefined : inputs.mtu, master: inputs.master, up: inputs.up });
        return { id, outs: outputsOf(inputs, await getLink(netns, name), await listRemotes(netns, name)) };
      } catch (err) {
        if (!made) throw err;
        return await undoCreate(netns, name, id, { ...inputs }, err);
      }
    });
  },

  async read(id, props) {
    const link = props && (await ownLink(props.netns, props.name, "vxlan", props.owner));
    return link ? { id, props: outputsOf(props, link, await listRemotes(props.netns, props.name)) } : {};
  },

  async update(_id, olds, news) {
    const changed = changedKeys(olds, news, DIFF.update);
    const has = (...keys: typeof changed) => keys.some((k) => changed.includes(k));
    return withResource(KIND, news.owner, "update", async () => {
      const master = has("master", "masterIdentity") ? news.master : undefined;
      if (master) await requireBridge(news.netns, master, "master");
      if (changed.length) {
        await markLink(news.netns, news.name, ownerHash(news.owner), { mtu: has("mtu") ? news.mtu : undefined, master, up: has("up") ? news.up : undefined });
      }
      return { outs: outputsOf({ ...olds, ...news }, await getLink(news.netns, news.name), await listRemotes(news.netns, news.name)) };
    });
  },

  async delete(_id, props) {
    return withResource(KIND, props.owner, "delete", async () => {
      await delOwnLink(props.netns, props.name, "vxlan", props.owner);
    });
  },
};

/** Creates the link; false when the name is taken (then the caller looks at what holds it). */
async function add(i: VxlanInputs, again = false): Promise<boolean> {
  try {
    await addVxlan({ netns: i.netns, name: i.name, hash: ownerHash(i.owner), vni: i.vni, remotes: i.remote, local: i.local, device: i.device, dstPort: i.dstPort, mtu: i.mtu });
    return true;
  } catch (err) {
    if (failedWith(err, "NO_NETNS")) throw missingNetnsError("netns", i.netns!, err);
    if (failedWith(err, "ALREADY_EXISTS") && !again) return false;
    const holder = failedWith(err, "INVALID") ? await vniHolder(i.netns, i.name, i.vni, i.dstPort) : undefined;
    if (holder) {
      throw new NslabError(
        "CONFLICT",
        `vni ${i.vni} with dstPort ${i.dstPort} is already used by the vxlan link "${holder}" in ${where(i.netns)}, and the kernel allows one link per VNI and port in a namespace. ` +
          `Give this link another vni (or dstPort), or give "${holder}" this link's remotes instead: one vxlan link reaches every remote in its list`,
        { cause: err },
      );
    }
    if (failedWith(err, "NOT_FOUND") && i.device) {
      throw new NslabError("NOT_FOUND", `device "${i.device}" does not exist in ${where(i.netns)}; the lower device must be a link in the vxlan link's namespace: correct the name, or leave device unset`, { cause: err });
    }
    throw err;
  }
}

/**
 * Whether the existing link may be taken over: our own vxlan, or with adopt any vxlan, when its
 * creation-time attributes are the ones asked for; never another kind.
 */
async function mayTake(i: VxlanInputs, link: LinkInfo, hash: string): Promise<void> {
  await mayTakeLink(i, link, hash, "vxlan");
  const info = vxlanInfo(link);
  const differ = (["vni", "dstPort", "local", "device"] as const).filter((k) => info[k] !== i[k]);
  if (differ.length) {
    const shown = (v: VxlanInfo | VxlanInputs) => differ.map((k) => `${k} ${v[k] ?? "(unset)"}`).join(", ");
    throw new NslabError(
      "CONFLICT",
      `"${i.name}" in ${where(i.netns)} is a vxlan link with ${shown(info)}, not ${shown(i)}; these are fixed when a link is made. ` +
        `Choose another name, or remove it with: ${delLinkCommand(i.netns, i.name)}`,
    );
  }
}

/** The inputs (or stored outputs) with what the kernel reports, so read shows drift. */
function outputsOf(base: VxlanInputs, link: LinkInfo, remotes: string[]): VxlanOutputs {
  const { master: _m, local: _l, device: _d, ...rest } = base;
  const info = vxlanInfo(link);
  return {
    ...rest,
    vni: info.vni ?? base.vni,
    remote: remotes,
    ...(info.local ? { local: info.local } : {}),
    ...(info.device ? { device: info.device } : {}),
    dstPort: info.dstPort ?? base.dstPort,
    ...(link.master ? { master: link.master } : {}),
    mtu: link.mtu,
    up: isUp(link),
    ifindex: link.ifindex,
    mac: link.address ?? "",
  };
}
