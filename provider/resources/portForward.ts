import type { KindProvider } from "../lib/kind";
import { hostAddressProblem, PORT_FORWARD_TAG, portForwardRules, portProblem, type Hook } from "../driver/chains";
import { flushConntrack } from "../driver/iptables";
import { ifnameProblem, netnsNameProblem } from "../lib/names";
import { commonRules, required, rule, validate } from "../lib/check";
import { planDiff, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import type { Owner } from "../lib/owner";
import type { Host } from "../lib/host";
import { ruleOperations } from "../lib/ruleKind";


// PortForward: DNAT of hostPort to toAddress:toPort in nslab's nat PREROUTING chain (traffic from
// outside) and nat OUTPUT chain (traffic the host sends; none when inInterface is set), and an
// accept of the DNATed traffic in nslab's filter FORWARD chain, so it works behind a FORWARD
// policy DROP, and behind FirewallRule drops of a priority above 100: that accept is ordered as a
// FirewallRule of priority 100 after those of equal priority (PORT_FORWARD_PRIORITY in
// driver/chains.ts), so a published port stays open under a "drop the rest" rule of a higher
// priority, and a rule of priority 100 or lower can still close it. The accept matches only what was DNATed (--ctstate DNAT) to
// toAddress:toPort, never traffic addressed to the target directly. Marked by the comment
// nslab:<owner hash>:pf on every rule. Every input is
// identity: a new target replaces the forward, and delete also drops the connection-tracking
// entries of flows DNATed to the old target (docs/kernel-facts.md, D10).

export interface PortForwardInputs {
  hostPort: number;
  toAddress: string;
  toPort: number;
  protocol: "tcp" | "udp";
  hostAddress?: string;
  inInterface?: string;
  netns?: string;
  /** The namespace's incarnation (Netns.incarnation) when `netns` was given as a Netns resource (refs.ts). */
  netnsIdentity?: string;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export interface PortForwardOutputs extends PortForwardInputs {
  /** The comment on the rules. */
  comment: string;
}

const KIND = "PortForward";
const HOOKS: readonly Hook[] = [
  { table: "nat", builtin: "PREROUTING" },
  { table: "nat", builtin: "OUTPUT" },
  { table: "filter", builtin: "FORWARD" },
];
const DIFF: DiffSpec<PortForwardInputs> = DIFFS.PortForward;

const rules = [
  ...commonRules<PortForwardInputs>(),
  required<PortForwardInputs>("hostPort", "the port the traffic arrives at, 1-65535"),
  rule<PortForwardInputs, "hostPort">("hostPort", portProblem),
  required<PortForwardInputs>("toAddress", `the IPv4 address the traffic is forwarded to, e.g. "10.0.0.2"`),
  rule<PortForwardInputs, "toAddress">("toAddress", hostAddressProblem),
  rule<PortForwardInputs, "toPort">("toPort", portProblem),
  rule<PortForwardInputs, "protocol">("protocol", (v) => (v === "tcp" || v === "udp" ? undefined : `use "tcp" or "udp"`)),
  rule<PortForwardInputs, "hostAddress">("hostAddress", hostAddressProblem),
  rule<PortForwardInputs, "inInterface">("inInterface", ifnameProblem),
  rule<PortForwardInputs, "netns">("netns", netnsNameProblem),
];

const operations = ruleOperations<PortForwardInputs>({
  kind: KIND,
  hooks: () => HOOKS,
  tag: () => PORT_FORWARD_TAG,
  rules: portForwardRules,
  // A replaced target must not keep receiving the flows conntrack already mapped to it (docs/kernel-facts.md, D10).
  afterDelete: (p) => flushConntrack(p.netns, { protocol: p.protocol, origPortDst: p.hostPort, replySrc: p.toAddress, replyPortSrc: p.toPort }),
});

export const portForward: KindProvider<PortForwardInputs, PortForwardOutputs> = {
  async check(_olds, news) {
    const inputs = { ...news, protocol: news.protocol ?? "tcp" };
    // toPort defaults to hostPort after validation, so a bad hostPort is reported once.
    return { inputs: { ...inputs, toPort: news.toPort ?? news.hostPort }, failures: validate(inputs, rules) };
  },

  async diff(_id, olds, news) {
    return planDiff(olds, news, DIFF);
  },

  ...operations,
};
