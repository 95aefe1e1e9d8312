import type { KindProvider } from "../lib/kind";
import { hostAddressProblem, ipv4NetworkProblem, natRules, type Hook } from "../driver/chains";
import { ifnameProblem, netnsNameProblem } from "../lib/names";
import { commonRules, known, required, rule, validate } from "../lib/check";
import { planDiff, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import type { Owner } from "../lib/owner";
import type { Host } from "../lib/host";
import { ruleOperations } from "../lib/ruleKind";


// NatRule: source NAT (SNAT to toSource, else MASQUERADE) in nslab's nat POSTROUTING chain, plus
// an accept of the same traffic in nslab's filter FORWARD chain (whose implicit first rule lets
// the replies back), so it works behind a FORWARD policy DROP. Marked by the comment
// nslab:<owner hash>:nat on both rules; the id alone finds them.

export interface NatRuleInputs {
  source: string;
  outInterface?: string;
  notOutInterface?: string;
  toSource?: string;
  netns?: string;
  /** The namespace's incarnation (Netns.incarnation) when `netns` was given as a Netns resource (refs.ts). */
  netnsIdentity?: string;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export interface NatRuleOutputs extends NatRuleInputs {
  /** The comment on the rules. */
  comment: string;
}

const KIND = "NatRule";
const TAG = "nat";
const HOOKS: readonly Hook[] = [
  { table: "nat", builtin: "POSTROUTING" },
  { table: "filter", builtin: "FORWARD" },
];
/**
 * Matches and namespace are the rule's identity (docs/design.md, "Kernel names are identity"); the target changes in place.
 * The diff below, and `replaceOnChanges` in schema.json.
 */
const DIFF: DiffSpec<NatRuleInputs> = DIFFS.NatRule;


const rules = [
  ...commonRules<NatRuleInputs>(),
  required<NatRuleInputs>("source", `the IPv4 network whose traffic is translated, e.g. "10.0.0.0/24" ("0.0.0.0/0" for all)`),
  rule<NatRuleInputs, "source">("source", (v) => ipv4NetworkProblem(v)),
  rule<NatRuleInputs, "outInterface">("outInterface", ifnameProblem),
  rule<NatRuleInputs, "notOutInterface">("notOutInterface", (v, i) =>
    known(i.outInterface) ? "outInterface and notOutInterface are exclusive: set only one of them" : ifnameProblem(v),
  ),
  rule<NatRuleInputs, "toSource">("toSource", (v) => hostAddressProblem(v)),
  rule<NatRuleInputs, "netns">("netns", netnsNameProblem),
];

const operations = ruleOperations<NatRuleInputs>({ kind: KIND, hooks: () => HOOKS, tag: () => TAG, rules: natRules });

export const natRule: KindProvider<NatRuleInputs, NatRuleOutputs> = {
  async check(_olds, news) {
    return { inputs: news, failures: validate(news, rules) };
  },

  async diff(_id, olds, news) {
    const d = planDiff(olds, news, { replace: DIFF.replace, update: [] });
    // Unset toSource means MASQUERADE, so unsetting it is a change too (not "no longer managed").
    return { ...d, changes: d.changes || planDiff(olds, news, { replace: DIFF.update, update: [] }).changes };
  },

  ...operations,
};
