import { withResource } from "../errors";
import { ownerComment, rulesIntact, type Hook, type Rule } from "../driver/chains";
import { findHooks, removeRules, setRules } from "../driver/iptables";
import type { KindProvider } from "./kind";
import { ownerHash, type Owner } from "./owner";

// What the three iptables kinds (NatRule, PortForward, FirewallRule) share: their rules live in
// nslab's chains, are found by the owner hash in their comment, and are written, read back and
// removed the same way; each kind only says which chains it uses and what its rules are.

export interface RuleInputs {
  netns?: string;
  owner: Owner;
  adopt?: boolean;
}

export interface RuleKind<I extends RuleInputs> {
  kind: string;
  /** The chains (of the built-in chains) the kind writes to. */
  hooks: (inputs: I) => readonly Hook[];
  /** The comment's tag after the owner hash. */
  tag: (inputs: I) => string;
  rules: (inputs: I, comment: string) => Rule[];
  /** Runs after the rules are gone (PortForward forgets its conntrack entries). */
  afterDelete?: (props: I) => Promise<void>;
}

/** create, read, update and delete of an iptables kind; ids are `<kind>:<netns|->/<owner hash>`. */
export function ruleOperations<I extends RuleInputs>(k: RuleKind<I>): Pick<KindProvider<I, I & { comment: string }>, "create" | "read" | "update" | "delete"> {
  const prefix = k.kind.toLowerCase();
  const wanted = (i: I) => {
    const hash = ownerHash(i.owner);
    const comment = ownerComment(hash, k.tag(i));
    return { hash, comment, rules: k.rules(i, comment) };
  };
  const apply = async (i: I, action: string): Promise<I & { comment: string }> => {
    const { hash, comment, rules } = wanted(i);
    await withResource(k.kind, i.owner, action, async () => {
      await setRules(i.netns, hash, k.hooks(i), rules, i.adopt === true);
    });
    return { ...i, comment };
  };
  return {
    async create(inputs) {
      return { id: `${prefix}:${inputs.netns ?? "-"}/${ownerHash(inputs.owner)}`, outs: await apply(inputs, "create") };
    },
    async read(id, props) {
      if (!props) return {};
      const { hash, rules } = wanted(props);
      const reads = await findHooks(props.netns, k.hooks(props));
      return reads && rulesIntact(reads, hash, rules) ? { id, props } : {};
    },
    async update(_id, _olds, news) {
      return { outs: await apply(news, "update") };
    },
    async delete(id, props) {
      const [ns, hash = ""] = id.slice(prefix.length + 1).split("/");
      return withResource(k.kind, props.owner, "delete", async () => {
        await removeRules(ns === "-" ? undefined : ns, hash, k.hooks(props));
        await k.afterDelete?.(props);
      });
    },
  };
}
