import type * as pulumi from "@pulumi/pulumi";
import { hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { deletedWithRef, refInputs, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/**
 * Source NAT for the traffic of a network leaving the namespace: SNAT to `toSource` when given,
 * else MASQUERADE (the address of the outgoing interface). The same traffic, and its replies, are
 * also let through a FORWARD chain whose policy is DROP (as on any host running Docker). IPv4
 * only. The rules live in nslab's own chains (`NSLAB-POSTROUTING` in the nat table,
 * `NSLAB-FORWARD` in the filter table), jumped to from the built-in chains and marked with the
 * comment in `comment`; nothing else on the host is touched. Another resource or stack with a
 * rule of the same matches makes create fail (unless `adopt`).
 *
 * Changing `source`, `outInterface`, `notOutInterface` or `netns` replaces the rule (delete
 * first); `toSource` changes in place (connections already translated keep their address until
 * they end).
 *
 * Equivalent to: `iptables -t nat -A POSTROUTING -s <source> [-o <outInterface> | ! -o <notOutInterface>] -j MASQUERADE`
 * (or `-j SNAT --to-source <toSource>`) and `iptables -A FORWARD -s <source> [...] -j ACCEPT`.
 */
export interface NatRuleArgs extends CommonArgs {
  /**
   * The IPv4 network whose traffic is translated, as a canonical CIDR without host bits, e.g.
   * `"10.0.0.0/24"` (`"10.0.0.5/32"` for one host, `"0.0.0.0/0"` for all traffic).
   */
  readonly source: pulumi.Input<string>;
  /**
   * Translate only traffic leaving through this interface (by name). Exclusive with
   * `notOutInterface`.
   *
   * @default - traffic leaving through any interface
   */
  readonly outInterface?: pulumi.Input<string>;
  /**
   * Translate only traffic leaving through any interface but this one (by name), e.g. the lab's
   * own bridge. Exclusive with `outInterface`.
   *
   * @default - traffic leaving through any interface
   */
  readonly notOutInterface?: pulumi.Input<string>;
  /**
   * The IPv4 address to translate the source to (SNAT). Changed in place.
   *
   * @default - MASQUERADE: the address of the interface the traffic leaves through
   */
  readonly toSource?: pulumi.Input<string>;
  /**
   * The namespace: its name, or a Netns resource (then the rule follows it when it is
   * re-created). Changing it replaces the rule.
   *
   * @default - the namespace the provider runs in (the host's)
   */
  readonly netns?: NetnsRef;
}

export class NatRule extends DynamicResource {
  /** The translated network. */
  declare readonly source: pulumi.Output<string>;
  /** The outgoing interface matched, if any. */
  declare readonly outInterface: pulumi.Output<string | undefined>;
  /** The outgoing interface excluded, if any. */
  declare readonly notOutInterface: pulumi.Output<string | undefined>;
  /** The SNAT address (undefined: MASQUERADE). */
  declare readonly toSource: pulumi.Output<string | undefined>;
  /** The namespace (undefined: the host's). */
  declare readonly netns: pulumi.Output<string | undefined>;
  /** The iptables comment that marks this resource's rules, e.g. `nslab:0123456789ab:nat`. */
  declare readonly comment: pulumi.Output<string>;

  constructor(name: string, args: NatRuleArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      providerFor("NatRule"),
      name,
      { ...args, ...refInputs("netns", args.netns), owner: ownerOf(name, opts), host: hostOf(args.host, opts), comment: undefined },
      deletedWithRef(opts, args.netns),
      "nslab",
      "NatRule",
    );
  }
}
