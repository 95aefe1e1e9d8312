import type * as pulumi from "@pulumi/pulumi";
import { hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { deletedWithRef, refInputs, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/**
 * A packet filter rule of a namespace. Rules live in nslab's own chain per built-in chain
 * (`NSLAB-FORWARD`, `NSLAB-INPUT`, `NSLAB-OUTPUT` in the filter table), jumped to first, and are
 * matched in order of `priority`, ties broken by the resource's name, whatever the order Pulumi
 * creates them in. Each such chain begins with an implicit accept of packets of established
 * connections (`-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`), so "accept A to B tcp/80,
 * then drop A to B" still lets the replies through. Packets no rule matches go on through the
 * built-in chain (its other rules and its policy). In `NSLAB-FORWARD` the accepts of
 * PortForwards (traffic DNATed to a published port, nothing else) come as rules of priority 100
 * placed after the FirewallRules of priority 100: a rule of priority 100 (the default) or lower
 * decides before them (it can close a published port to some senders), and a "drop the rest"
 * rule of a higher priority (e.g. 1000) leaves published ports reachable. The accepts of NatRules come after every
 * FirewallRule: a drop wins over them. IPv4 only.
 *
 * The match (`source`, `destination`, `inInterface`, `outInterface`, `protocol`,
 * `destinationPort`, `state`), `netns` and `chain` are the rule's identity: a change replaces the rule.
 * `action` and `priority` change in place: the chain is rewritten atomically, with no moment
 * without the rule. A hand edit of an nslab chain is overwritten by the next change.
 *
 * Equivalent to: `iptables -A FORWARD [-s <source>] [-d <destination>] [-i <inInterface>] [-o <outInterface>] [-p <protocol> [--dport <destinationPort>]] [-m conntrack --ctstate <state>] -j ACCEPT|DROP|REJECT`.
 */
export interface FirewallRuleArgs extends CommonArgs {
  /**
   * What to do with matching packets: `"accept"`, `"drop"` (silently) or `"reject"` (with an
   * ICMP port-unreachable). Changed in place.
   */
  readonly action: pulumi.Input<"accept" | "drop" | "reject">;
  /**
   * Which packets the rule sees: `"forward"` (routed through the namespace), `"input"` (addressed
   * to it) or `"output"` (sent by it). Changing it replaces the rule.
   *
   * @default "forward"
   */
  readonly chain?: pulumi.Input<"forward" | "input" | "output">;
  /**
   * Order within the chain: an integer 0-65535, lower is matched first; equal priorities are
   * ordered by resource name. Changed in place.
   *
   * @default 100
   */
  readonly priority?: pulumi.Input<number>;
  /**
   * Match packets from this IPv4 address or network (canonical, e.g. `"10.0.0.5"` or
   * `"10.0.0.0/24"`). Changing it replaces the rule.
   *
   * @default - any source
   */
  readonly source?: pulumi.Input<string>;
  /**
   * Match packets to this IPv4 address or network (canonical). Changing it replaces the rule.
   *
   * @default - any destination
   */
  readonly destination?: pulumi.Input<string>;
  /**
   * Match packets arriving on this interface (by name). Not with chain `"output"`. Changing it replaces the rule.
   *
   * @default - any interface
   */
  readonly inInterface?: pulumi.Input<string>;
  /**
   * Match packets leaving through this interface (by name). Not with chain `"input"`. Changing it replaces the rule.
   *
   * @default - any interface
   */
  readonly outInterface?: pulumi.Input<string>;
  /**
   * Match this protocol: `"tcp"`, `"udp"`, `"icmp"` or `"all"`. Changing it replaces the rule.
   *
   * @default "all"
   */
  readonly protocol?: pulumi.Input<"tcp" | "udp" | "icmp" | "all">;
  /**
   * Match this destination port (1-65535) or range `"from:to"` (e.g. `"8000:8080"`); needs
   * protocol `"tcp"` or `"udp"`. Changing it replaces the rule.
   *
   * @default - any port
   */
  readonly destinationPort?: pulumi.Input<number | string>;
  /**
   * Match packets of connections in one of these states (`-m conntrack --ctstate`): `"new"` (the
   * first packet of a connection), `"established"`, `"related"` (e.g. an ICMP error about a known
   * connection), `"invalid"`. Changing it replaces the rule (the order of the list does not matter).
   *
   * @default - any state
   */
  readonly state?: pulumi.Input<pulumi.Input<"new" | "established" | "related" | "invalid">[]>;
  /**
   * The namespace: its name, or a Netns resource (then the rule follows it when it is
   * re-created). Changing it replaces the rule.
   *
   * @default - the namespace the provider runs in (the host's)
   */
  readonly netns?: NetnsRef;
}

export class FirewallRule extends DynamicResource {
  /** What is done with matching packets. */
  declare readonly action: pulumi.Output<"accept" | "drop" | "reject">;
  /** The built-in chain whose packets the rule sees. */
  declare readonly chain: pulumi.Output<"forward" | "input" | "output">;
  /** Order within the chain (lower first). */
  declare readonly priority: pulumi.Output<number>;
  /** The source matched, if any. */
  declare readonly source: pulumi.Output<string | undefined>;
  /** The destination matched, if any. */
  declare readonly destination: pulumi.Output<string | undefined>;
  /** The incoming interface matched, if any. */
  declare readonly inInterface: pulumi.Output<string | undefined>;
  /** The outgoing interface matched, if any. */
  declare readonly outInterface: pulumi.Output<string | undefined>;
  /** The protocol matched, if any. */
  declare readonly protocol: pulumi.Output<"tcp" | "udp" | "icmp" | "all" | undefined>;
  /** The destination port or range matched, if any. */
  declare readonly destinationPort: pulumi.Output<number | string | undefined>;
  /** The connection states matched, in iptables' order, if any. */
  declare readonly state: pulumi.Output<("invalid" | "new" | "related" | "established")[] | undefined>;
  /** The namespace (undefined: the host's). */
  declare readonly netns: pulumi.Output<string | undefined>;
  /** The iptables comment that marks the rule and orders it, e.g. `nslab:0123456789ab:fw:100:web`. */
  declare readonly comment: pulumi.Output<string>;

  constructor(name: string, args: FirewallRuleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      providerFor("FirewallRule"),
      name,
      { ...args, ...refInputs("netns", args.netns), owner: ownerOf(name, opts), host: hostOf(args.host, opts), comment: undefined },
      deletedWithRef(opts, args.netns),
      "nslab",
      "FirewallRule",
    );
  }
}
