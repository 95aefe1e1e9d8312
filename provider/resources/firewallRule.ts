import type { KindProvider } from "../lib/kind";
import { CONNECTION_STATES, firewallRules, firewallTag, ipv4NetworkProblem, portOrRangeProblem, type Builtin, type ConnectionState, type FirewallChain, type FirewallSpec } from "../driver/chains";
import { ifnameProblem, netnsNameProblem } from "../lib/names";
import { commonRules, intInRange, isUnknown, known, required, rule, validate } from "../lib/check";
import { planDiff, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { resourceName, type Owner } from "../lib/owner";
import type { Host } from "../lib/host";
import { ruleOperations } from "../lib/ruleKind";


// FirewallRule: one filter rule in nslab's chain of a built-in chain (FORWARD, INPUT or OUTPUT),
// which is jumped to first and begins with an implicit ESTABLISHED,RELATED accept. The chain is
// sorted by priority, then resource name (both carried in the comment
// nslab:<owner hash>:fw:<priority>:<name>, so any process can sort it), whatever the order of
// creation, with PortForwards' accepts after the rules of priority 100 (chains.ts); every change
// rewrites the chain atomically. The match (and the namespace and chain)
// is the rule's identity and replaces it; action and priority change in place.

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
  /** Connection states matched (`-m conntrack --ctstate`), in iptables' order after check. */
  state?: ConnectionState[];
  netns?: string;
  /** The namespace's incarnation (Netns.incarnation) when `netns` was given as a Netns resource (refs.ts). */
  netnsIdentity?: string;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export interface FirewallRuleOutputs extends FirewallRuleInputs {
  /** The comment on the rule. */
  comment: string;
}

const KIND = "FirewallRule";
/**
 * A rule's match is its identity (docs/design.md, "Kernel names are identity"); what it does and where it sits are not.
 * The diff below, and `replaceOnChanges` in schema.json.
 */
const DIFF: DiffSpec<FirewallRuleInputs> = DIFFS.FirewallRule;
const CHAINS: readonly FirewallChain[] = ["forward", "input", "output"];


const rules = [
  ...commonRules<FirewallRuleInputs>(),
  required<FirewallRuleInputs>("action", `what to do with matching packets: "accept", "drop" or "reject"`),
  rule<FirewallRuleInputs, "action">("action", (v) => (["accept", "drop", "reject"].includes(v) ? undefined : `use "accept", "drop" or "reject"`)),
  rule<FirewallRuleInputs, "chain">("chain", (v) => (CHAINS.includes(v) ? undefined : `use "forward" (routed through), "input" (to this namespace) or "output" (from it)`)),
  rule<FirewallRuleInputs, "priority">("priority", intInRange(0, 65535, " (lower is matched first)")),
  rule<FirewallRuleInputs, "source">("source", (v) => ipv4NetworkProblem(v, true)),
  rule<FirewallRuleInputs, "destination">("destination", (v) => ipv4NetworkProblem(v, true)),
  rule<FirewallRuleInputs, "inInterface">("inInterface", (v, i) =>
    i.chain === "output" ? `iptables refuses -i in OUTPUT (packets sent by this namespace have no input interface); remove inInterface or use chain "forward" or "input"` : ifnameProblem(v),
  ),
  rule<FirewallRuleInputs, "outInterface">("outInterface", (v, i) =>
    i.chain === "input" ? `iptables refuses -o in INPUT (packets delivered here have no output interface); remove outInterface or use chain "forward" or "output"` : ifnameProblem(v),
  ),
  rule<FirewallRuleInputs, "protocol">("protocol", (v) => (["tcp", "udp", "icmp", "all"].includes(v) ? undefined : `use "tcp", "udp", "icmp" or "all"`)),
  rule<FirewallRuleInputs, "destinationPort">("destinationPort", (v, i) =>
    known(i.protocol) && i.protocol !== "tcp" && i.protocol !== "udp"
      ? `a port needs protocol "tcp" or "udp" (protocol is ${JSON.stringify(i.protocol)}); set protocol: "tcp" or "udp"`
      : i.protocol === undefined
        ? `a port needs a protocol; set protocol: "tcp" or "udp"`
        : portOrRangeProblem(v),
  ),
  rule<FirewallRuleInputs, "state">("state", (v) =>
    Array.isArray(v) && (v.some(isUnknown) || (v.length > 0 && v.every((x) => CONNECTION_STATES.includes(x)) && new Set(v).size === v.length))
      ? undefined
      : `use a non-empty list of distinct connection states from ${CONNECTION_STATES.map((x) => JSON.stringify(x)).join(", ")}, e.g. ["new"]`,
  ),
  rule<FirewallRuleInputs, "netns">("netns", netnsNameProblem),
];

const operations = ruleOperations<FirewallRuleInputs>({
  kind: KIND,
  hooks: (i) => [{ table: "filter", builtin: i.chain.toUpperCase() as Builtin }],
  tag: (i) => firewallTag(i.priority, resourceName(i.owner)),
  rules: firewallRules,
});

export const firewallRule: KindProvider<FirewallRuleInputs, FirewallRuleOutputs> = {
  async check(_olds, news) {
    const inputs = { ...news, chain: news.chain ?? "forward", priority: news.priority ?? 100 };
    const failures = validate(inputs, rules);
    // States in iptables' order, so a reordered list is no change.
    const state = failures.length === 0 && Array.isArray(news.state) && !news.state.some(isUnknown) ? CONNECTION_STATES.filter((x) => news.state!.includes(x)) : news.state;
    return { inputs: { ...inputs, ...(state !== undefined ? { state } : {}) }, failures };
  },

  async diff(_id, olds, news) {
    // An unset match is a value (it matches everything), so removing one replaces the rule too.
    return planDiff(olds, news, DIFF);
  },

  ...operations,
};
