import type * as pulumi from "@pulumi/pulumi";
import type { Netns } from "../driver/ip";
import { NslabError } from "../errors";
import { delLink, findLink, foreignLinkError, hostCriticalProblem, kindOf, ownershipOf, wrongKindError, type LinkInfo } from "../driver/link";
import { validate, type Rule } from "./check";
import { planDiff, type DiffSpec } from "./diff";
import type { Kind } from "./kind";
import { ownerHash, type Owner } from "./owner";

// What the kinds that make one kernel object under a name share (Netns, and the link kinds
// Bridge, VethPair and Vxlan): check is the defaults, then the rules; diff is the kind's DIFFS row; a
// link's id is its namespace and name; a link is read and deleted only when it is of the kind's
// link type and carries this owner's mark (docs/design.md, "Ownership marks").

export interface NamedKind<I> {
  kind: Kind;
  rules: readonly Rule<I>[];
  diff: DiffSpec<I>;
  /** Inputs the kind fills in when the program leaves them unset (`up: true`). */
  defaults?: Partial<I>;
}

/** check and diff of a kind: pure, spawn nothing (docs/design.md, "Preview changes nothing"). */
export function checkAndDiff<I extends { owner?: Owner }>(k: NamedKind<I>) {
  return {
    async check(_olds: I, news: I): Promise<pulumi.dynamic.CheckResult<I>> {
      const inputs = { ...news };
      for (const [key, value] of Object.entries(k.defaults ?? {}) as [keyof I, I[keyof I]][]) inputs[key] ??= value;
      return { inputs, failures: validate(inputs, k.rules) };
    },
    async diff(_id: string, olds: I, news: I): Promise<pulumi.dynamic.DiffResult> {
      return planDiff(olds, news, k.diff);
    },
  };
}

/** A link's id: `link:<netns|->/<name>`. */
export function linkId(netns: Netns, name: string): string {
  return `link:${netns ?? "-"}/${name}`;
}

/** The link `name` when it is a `type` link that carries `owner`'s mark; undefined otherwise. */
export async function ownLink(netns: Netns, name: string, type: string, owner: Owner): Promise<LinkInfo | undefined> {
  const link = await findLink(netns, name);
  return link && kindOf(link) === type && ownershipOf(link, ownerHash(owner)) === "ours" ? link : undefined;
}

/**
 * Deletes the link when it is ours (ownLink); a link of that name without our mark is someone
 * else's that took the name after ours went, and stays.
 */
export async function delOwnLink(netns: Netns, name: string, type: string, owner: Owner): Promise<void> {
  if (await ownLink(netns, name, type, owner)) await delLink(netns, name);
}

/**
 * Whether an existing link that holds the name may be taken over by a create: our own link of
 * the kind, or with adopt any link of the kind that is not host-critical; never another kind.
 */
export async function mayTakeLink(i: { netns?: string; name: string; adopt?: boolean }, link: LinkInfo, hash: string, type: string): Promise<void> {
  const ownership = ownershipOf(link, hash);
  if (ownership !== "ours") {
    const critical = await hostCriticalProblem(i.netns, i.name, true);
    if (critical) throw new NslabError("INVALID", `name: ${critical}`);
  }
  if (kindOf(link) !== type) throw wrongKindError(i.netns, i.name, type, link);
  if (ownership !== "ours" && !i.adopt) throw foreignLinkError(i.netns, i.name, ownership);
}
