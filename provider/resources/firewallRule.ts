import type { KindProvider } from "../lib/kind";
import { forResource } from "../errors";
import { firewallRules, firewallTag, ipv4NetworkProblem, ownerComment, portOrRangeProblem, rulesIntact, type Builtin, type FirewallChain, type FirewallSpec, type Hook } from "../driver/chains";
import { findHooks, removeRules, setRules } from "../driver/iptables";
import { ifnameProblem, netnsNameProblem } from "../driver/names";
import { commonRules, intInRange, known, required, rule, validate } from "../lib/check";
import { planDiff } from "../lib/diff";
import { ownerHash, resourceName, type Owner } from "../lib/owner";

// FirewallRule: one filter rule in nslab's chain of a built-in chain (FORWARD, INPUT or OUTPUT),
// which is jumped to first and begins with an implicit ESTABLISHED,RELATED accept. The chain is
// sorted by priority, then resource name (both carried in the comment
// nslab:<owner hash>:fw:<priority>:<name>, so any process can sort it), whatever the order of
// creation; every change rewrites the chain atomically, so everything but the namespace and the
// chain changes in place.

export interface FirewallRuleInputs {
  action: FirewallSpec["action"];
  chain: FirewallChain;
  priority: number;
  source?: string;
  destination?: string;
  inInterface?: string;
  outInterface?: string;
  protocol?: NonNullable<FirewallSpec["protocol"]>;
  destinationPort?: number | string;
  netns?: string;
  /** The namespace's identity (Netns.identity) when `netns` was given as a Netns resource (identity, refs.ts). */
  netnsIdentity?: string;
  owner: Owner;
  adopt?: boolean;
}

export interface FirewallRuleOutputs extends FirewallRuleInputs {
  /** The comment on the rule. */
  comment: string;
}

const KIND = "FirewallRule";
const IDENTITY = ["netns", "netnsIdentity", "owner", "chain"];
const IN_PLACE = ["action", "priority", "source", "destination", "inInterface", "outInterface", "protocol", "destinationPort"];
const CHAINS: readonly FirewallChain[] = ["forward", "input", "output"];

const ifname = (v: unknown) => (typeof v === "string" ? ifnameProblem(v) : `use an interface name such as "eth0"`);

const rules = [
  ...commonRules<FirewallRuleInputs>(),
  required<FirewallRuleInputs>("action", `what to do with matching packets: "accept", "drop" or "reject"`),
  rule<FirewallRuleInputs, "action">("action", (v) => (["accept", "drop", "reject"].includes(v) ? undefined : `use "accept", "drop" or "reject"`)),
  rule<FirewallRuleInputs, "chain">("chain", (v) => (CHAINS.includes(v) ? undefined : `use "forward" (routed through), "input" (to this namespace) or "output" (from it)`)),
  rule<FirewallRuleInputs, "priority">("priority", intInRange(0, 65535, " (lower is matched first)")),
  rule<FirewallRuleInputs, "source">("source", (v) => ipv4NetworkProblem(v, true)),
  rule<FirewallRuleInputs, "destination">("destination", (v) => ipv4NetworkProblem(v, true)),
  rule<FirewallRuleInputs, "inInterface">("inInterface", (v, i) =>
    i.chain === "output" ? `iptables refuses -i in OUTPUT (packets sent by this namespace have no input interface); remove inInterface or use chain "forward" or "input"` : ifname(v),
  ),
  rule<FirewallRuleInputs, "outInterface">("outInterface", (v, i) =>
    i.chain === "input" ? `iptables refuses -o in INPUT (packets delivered here have no output interface); remove outInterface or use chain "forward" or "output"` : ifname(v),
  ),
  rule<FirewallRuleInputs, "protocol">("protocol", (v) => (["tcp", "udp", "icmp", "all"].includes(v) ? undefined : `use "tcp", "udp", "icmp" or "all"`)),
  rule<FirewallRuleInputs, "destinationPort">("destinationPort", (v, i) =>
    known(i.protocol) && i.protocol !== "tcp" && i.protocol !== "udp"
      ? `a port needs protocol "tcp" or "udp" (protocol is ${JSON.stringify(i.protocol)}); set protocol: "tcp" or "udp"`
      : i.protocol === undefined
        ? `a port needs a protocol; set protocol: "tcp" or "udp"`
        : portOrRangeProblem(v),
  ),
  rule<FirewallRuleInputs, "netns">("netns", (v) => (typeof v === "string" ? netnsNameProblem(v) : "use a namespace name or a Netns resource")),
];

const idOf = (netns: string | undefined, hash: string) => `firewallrule:${netns ?? "-"}/${hash}`;

function parseId(id: string): { netns: string | undefined; hash: string } {
  const [ns, hash] = id.replace(/^firewallrule:/, "").split("/");
  return { netns: ns === "-" ? undefined : ns, hash: hash ?? "" };
}

const hooksOf = (chain: FirewallChain): Hook[] => [{ table: "filter", builtin: chain.toUpperCase() as Builtin }];

function wanted(inputs: FirewallRuleInputs) {
  const hash = ownerHash(inputs.owner);
  const comment = ownerComment(hash, firewallTag(inputs.priority, resourceName(inputs.owner)));
  return { hash, comment, rules: firewallRules(inputs, comment) };
}

async function apply(inputs: FirewallRuleInputs, action: string): Promise<FirewallRuleOutputs> {
  const { hash, comment, rules } = wanted(inputs);
  try {
    await setRules(inputs.netns, hash, hooksOf(inputs.chain), rules, inputs.adopt === true);
  } catch (err) {
    throw forResource(KIND, resourceName(inputs.owner), action, err);
  }
  return { ...inputs, comment };
}

export const firewallRule: KindProvider<FirewallRuleInputs, FirewallRuleOutputs> = {
  async check(_olds, news) {
    const inputs = { ...news, chain: news.chain ?? "forward", priority: news.priority ?? 100 };
    return { inputs, failures: validate(KIND, inputs, rules) };
  },

  async diff(_id, olds, news) {
    const d = planDiff(olds as never, news as never, { replace: IDENTITY, update: [] });
    // Every match is part of the one rule: unsetting one changes the rule (it is not "no longer managed").
    return { ...d, changes: d.changes || planDiff(olds as never, news as never, { replace: IN_PLACE, update: [] }).changes };
  },

  async create(inputs) {
    const outs = await apply(inputs, "create");
    return { id: idOf(inputs.netns, ownerHash(inputs.owner)), outs };
  },

  async read(id, props) {
    if (!props) return {};
    const { hash, rules } = wanted(props);
    const reads = await findHooks(props.netns, hooksOf(props.chain));
    return reads && rulesIntact(reads, hash, rules) ? { id, props } : {};
  },

  async update(_id, _olds, news) {
    return { outs: await apply(news, "update") };
  },

  async delete(id, props) {
    const { netns, hash } = parseId(id);
    try {
      await removeRules(netns, hash, hooksOf(props.chain));
    } catch (err) {
      throw forResource(KIND, resourceName(props.owner), "delete", err);
    }
  },
};
