import type { KindProvider } from "../lib/kind";
import { NslabError, shellQuote, withResource } from "../errors";
import { failedWith } from "../driver/exec";
import { ip } from "../driver/ip";
import { isUp, setLink } from "../driver/link";
import { linkAlias, ownerOfAlias } from "../driver/marks";
import { netnsNameProblem } from "../lib/names";
import { addNetns, delNetns, findNetns, netnsIdentity, netnsPath, type NetnsInfo } from "../driver/netns";
import { readRecord, removeNetnsRecords, removeRecord, writeRecord } from "../driver/runstate";
import { commonRules, required, rule } from "../lib/check";
import { markedFor } from "../lib/conflicts";
import { changedKeys, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { checkAndDiff } from "../lib/linkKind";
import { ownerHash, type Owner } from "../lib/owner";
import type { Host } from "../lib/host";

// Netns: a named network namespace. Marked by the alias of its `lo`. That alias can only be set
// after `ip netns add`, so a record in /run/nslab, written before the add and removed by delete,
// says whose namespace it is meanwhile: a create retried after a crash (or racing a twin) adopts
// its own namespace instead of refusing it.

export interface NetnsInputs {
  name: string;
  loopback: boolean;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export interface NetnsOutputs extends NetnsInputs {
  path: string;
  /** Tells this namespace from a later one of the same name, so dependents follow a re-creation. */
  identity: string;
}

const KIND = "Netns" as const;

const rules = [
  ...commonRules<NetnsInputs>(),
  required<NetnsInputs>("name", "the namespace's file name under /run/netns"),
  rule<NetnsInputs, "name">("name", netnsNameProblem),
  rule<NetnsInputs, "loopback">("loopback", (v) => (typeof v === "boolean" ? undefined : "use true (lo up) or false")),
];

const DIFF: DiffSpec<NetnsInputs> = DIFFS.Netns;

const idOf = (name: string) => `netns:${name}`;
const nameOf = (id: string) => id.replace(/^netns:/, "");

export const netns: KindProvider<NetnsInputs, NetnsOutputs> = {
  ...checkAndDiff({ kind: KIND, rules, diff: DIFF, defaults: { loopback: true } }),

  async create(inputs) {
    const { name } = inputs;
    const hash = ownerHash(inputs.owner);
    return withResource(KIND, inputs.owner, "create", async () => {
      let ns = await findNetns(name);
      if (ns?.state === "stale") {
        await ip(undefined, ["netns", "del", name]);
        ns = undefined;
      }
      let identity: string | undefined;
      /** Takes back the record of our intent when no namespace of ours comes of it. */
      let unrecord = async () => {};
      if (!ns) {
        const before = await readRecord("netns", name);
        await writeRecord("netns", name, hash);
        unrecord = () => (before === undefined ? removeRecord("netns", name) : writeRecord("netns", name, before));
        try {
          await addNetns(name);
          // Made just now, so ours, with an unmarked lo: nothing to read back but its identity.
          identity = await netnsIdentity(name);
          // Records of objects in an earlier namespace of this name describe nothing here.
          await removeNetnsRecords(name);
        } catch (err) {
          if (!failedWith(err, "ALREADY_EXISTS")) {
            await unrecord();
            throw err;
          }
        }
        if (identity === undefined) ns = await findNetns(name);
      }
      if (identity === undefined) {
        const refused =
          ns?.state !== "live"
            ? new NslabError("COMMAND_FAILED", `namespace "${name}" vanished while it was being created`)
            : !(await isOurs(name, ns, hash)) && !inputs.adopt
              ? foreign(inputs, ns)
              : undefined;
        if (refused) {
          await unrecord();
          throw refused;
        }
        identity = (ns as Extract<NetnsInfo, { state: "live" }>).identity;
      }
      await writeRecord("netns", name, `${hash} ${identity}`);
      await setLink(name, "lo", { alias: linkAlias(hash), up: inputs.loopback });
      return { id: idOf(name), outs: { ...inputs, path: netnsPath(name), identity } };
    });
  },

  async read(id, props) {
    const ns = await findNetns(nameOf(id));
    if (ns?.state !== "live" || (props && ns.identity !== props.identity && !(await isOurs(nameOf(id), ns, ownerHash(props.owner))))) return {};
    return { id, props: { ...props!, name: nameOf(id), loopback: isUp(ns.lo), path: netnsPath(nameOf(id)), identity: ns.identity } };
  },

  async update(_id, olds, news) {
    const changed = changedKeys(olds, news, DIFF.update);
    await withResource(KIND, news.owner, "update", async () => {
      if (changed.length) await setLink(news.name, "lo", { alias: linkAlias(ownerHash(news.owner)), up: news.loopback });
    });
    return { outs: { ...olds, ...news } };
  },

  async delete(id, props) {
    const name = nameOf(id);
    return withResource(KIND, props.owner, "delete", async () => {
      const hash = ownerHash(props.owner);
      // The one we made (same identity) is ours without reading it. Any other that is not marked
      // ours is someone else's that took the name after ours was deleted: ours is already gone.
      const identity = await netnsIdentity(name);
      const ns = identity !== undefined && identity !== props.identity ? await findNetns(name) : undefined;
      const foreign = ns?.state === "live" && !(await isOurs(name, ns, hash));
      if (identity !== undefined && !foreign) await delNetns(name);
      // Our records go too, also when the namespace was deleted by hand before us.
      if ((await record(name))?.owner === hash) {
        await removeNetnsRecords(name);
        await removeRecord("netns", name);
      }
    });
  },
};

/**
 * Ours when its lo carries our alias, or, before the alias is set, when our record names it: the
 * record holds the owner, and once `ip netns add` is done the namespace's identity, so a namespace
 * deleted and made again by hand under the name is not taken for ours.
 */
async function isOurs(name: string, ns: Extract<NetnsInfo, { state: "live" }>, hash: string): Promise<boolean> {
  const alias = ns.lo.ifalias;
  if (alias) return ownerOfAlias(alias) === hash;
  const r = await record(name);
  return r?.owner === hash && (r.identity === undefined || r.identity === ns.identity);
}

/** The namespace's record: its owner hash, and its identity once made. */
async function record(name: string): Promise<{ owner: string; identity?: string } | undefined> {
  const text = await readRecord("netns", name);
  if (text === undefined) return undefined;
  const [owner = "", identity] = text.split(" ");
  return identity === undefined ? { owner } : { owner, identity };
}

function foreign(inputs: NetnsInputs, ns: Extract<NetnsInfo, { state: "live" }>): NslabError {
  const hash = ownerOfAlias(ns.lo.ifalias);
  if (hash) return new NslabError("CONFLICT", `namespace "${inputs.name}" already exists, ${markedFor(hash)}`);
  return new NslabError(
    "CONFLICT",
    `namespace "${inputs.name}" already exists and was made by something other than nslab. ` +
      `Choose another name, remove it with: ip netns del ${shellQuote(inputs.name)}, or set adopt: true to take it over.`,
  );
}
