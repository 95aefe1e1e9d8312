import type { KindProvider } from "../lib/kind";
import { forResource } from "../errors";
import { hostAddressProblem, ownerComment, portForwardRules, portProblem, rulesIntact, type Hook } from "../driver/chains";
import { findHooks, flushConntrack, removeRules, setRules } from "../driver/iptables";
import { ifnameProblem, netnsNameProblem } from "../driver/names";
import { commonRules, required, rule, validate } from "../lib/check";
import { planDiff } from "../lib/diff";
import { ownerHash, resourceName, type Owner } from "../lib/owner";

// PortForward: DNAT of hostPort to toAddress:toPort in nslab's nat PREROUTING chain (traffic from
// outside) and nat OUTPUT chain (traffic the host sends; none when inInterface is set), and an
// accept of the DNATed traffic in nslab's filter FORWARD chain, so it works behind a FORWARD
// policy DROP. Marked by the comment nslab:<owner hash>:pf on every rule. Every input is
// identity: a new target replaces the forward, and delete also drops the connection-tracking
// entries of flows DNATed to the old target (kernel-facts D10).

export interface PortForwardInputs {
  hostPort: number;
  toAddress: string;
  toPort: number;
  protocol: "tcp" | "udp";
  hostAddress?: string;
  inInterface?: string;
  netns?: string;
  /** The namespace's identity (Netns.identity) when `netns` was given as a Netns resource (identity, refs.ts). */
  netnsIdentity?: string;
  owner: Owner;
  adopt?: boolean;
}

export interface PortForwardOutputs extends PortForwardInputs {
  /** The comment on the rules. */
  comment: string;
}

const KIND = "PortForward";
const TAG = "pf";
const HOOKS: readonly Hook[] = [
  { table: "nat", builtin: "PREROUTING" },
  { table: "nat", builtin: "OUTPUT" },
  { table: "filter", builtin: "FORWARD" },
];
const IDENTITY = ["netns", "netnsIdentity", "owner", "protocol", "hostPort", "hostAddress", "inInterface", "toAddress", "toPort"];

const rules = [
  ...commonRules<PortForwardInputs>(),
  required<PortForwardInputs>("hostPort", "the port the traffic arrives at, 1-65535"),
  rule<PortForwardInputs, "hostPort">("hostPort", portProblem),
  required<PortForwardInputs>("toAddress", `the IPv4 address the traffic is forwarded to, e.g. "10.0.0.2"`),
  rule<PortForwardInputs, "toAddress">("toAddress", hostAddressProblem),
  rule<PortForwardInputs, "toPort">("toPort", portProblem),
  rule<PortForwardInputs, "protocol">("protocol", (v) => (v === "tcp" || v === "udp" ? undefined : `use "tcp" or "udp"`)),
  rule<PortForwardInputs, "hostAddress">("hostAddress", hostAddressProblem),
  rule<PortForwardInputs, "inInterface">("inInterface", (v) => (typeof v === "string" ? ifnameProblem(v) : `use an interface name such as "eth0"`)),
  rule<PortForwardInputs, "netns">("netns", (v) => (typeof v === "string" ? netnsNameProblem(v) : "use a namespace name or a Netns resource")),
];

const idOf = (netns: string | undefined, hash: string) => `portforward:${netns ?? "-"}/${hash}`;

function parseId(id: string): { netns: string | undefined; hash: string } {
  const [ns, hash] = id.replace(/^portforward:/, "").split("/");
  return { netns: ns === "-" ? undefined : ns, hash: hash ?? "" };
}

function wanted(inputs: PortForwardInputs) {
  const hash = ownerHash(inputs.owner);
  const comment = ownerComment(hash, TAG);
  return { hash, comment, rules: portForwardRules(inputs, comment) };
}

async function apply(inputs: PortForwardInputs, action: string): Promise<PortForwardOutputs> {
  const { hash, comment, rules } = wanted(inputs);
  try {
    await setRules(inputs.netns, hash, HOOKS, rules, inputs.adopt === true);
  } catch (err) {
    throw forResource(KIND, resourceName(inputs.owner), action, err);
  }
  return { ...inputs, comment };
}

export const portForward: KindProvider<PortForwardInputs, PortForwardOutputs> = {
  async check(_olds, news) {
    const inputs = { ...news, protocol: news.protocol ?? "tcp" };
    // toPort defaults to hostPort after validation, so a bad hostPort is reported once.
    return { inputs: { ...inputs, toPort: news.toPort ?? news.hostPort }, failures: validate(KIND, inputs, rules) };
  },

  async diff(_id, olds, news) {
    return planDiff(olds as never, news as never, { replace: IDENTITY, update: [] });
  },

  async create(inputs) {
    const outs = await apply(inputs, "create");
    return { id: idOf(inputs.netns, ownerHash(inputs.owner)), outs };
  },

  async read(id, props) {
    if (!props) return {};
    const { hash, rules } = wanted(props);
    const reads = await findHooks(props.netns, HOOKS);
    return reads && rulesIntact(reads, hash, rules) ? { id, props } : {};
  },

  async update(_id, _olds, news) {
    return { outs: await apply(news, "update") };
  },

  async delete(id, props) {
    const { netns, hash } = parseId(id);
    try {
      await removeRules(netns, hash, HOOKS);
      await flushConntrack(netns, { protocol: props.protocol, origPortDst: props.hostPort, replySrc: props.toAddress, replyPortSrc: props.toPort });
    } catch (err) {
      throw forResource(KIND, resourceName(props.owner), "delete", err);
    }
  },
};
