import type * as pulumi from "@pulumi/pulumi";
import { hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { deletedWithRef, refInputs, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/**
 * Forwards a port of the namespace to another address (DNAT): traffic arriving from outside
 * (PREROUTING) and traffic the host itself sends (OUTPUT) to `hostAddress:hostPort` goes to
 * `toAddress:toPort`, and the forwarded traffic is let through a FORWARD chain whose policy is
 * DROP (as on any host running Docker) and through FirewallRule drops of a priority above 100
 * (the accept is ordered as a FirewallRule of priority 100 after those of equal priority; a rule
 * of priority 100, the default, or lower can still close the port). The accept matches only what was forwarded:
 * traffic addressed to `toAddress` itself is left to the other rules. Without `hostAddress` it matches traffic to any local
 * address of the namespace (never all outgoing traffic to that port); traffic to loopback
 * addresses (127.0.0.0/8) is not forwarded (it would leave with a loopback source). With
 * `inInterface` only traffic arriving on that interface is forwarded (and none the host sends).
 * IPv4 only. The rules live in nslab's own chains (`NSLAB-PREROUTING` and `NSLAB-OUTPUT` in the
 * nat table, `NSLAB-FORWARD` in the filter table), marked with the comment in `comment`; another
 * resource or stack forwarding the same port makes create fail (unless `adopt`).
 *
 * Every argument is identity: changing any of them replaces the forward (delete first), and
 * delete also removes the connection-tracking entries of flows forwarded to the old target, so
 * no established flow keeps going there.
 *
 * Equivalent to: `iptables -t nat -A PREROUTING -p tcp -m addrtype --dst-type LOCAL --dport <hostPort> -j DNAT --to-destination <toAddress>:<toPort>`,
 * the same in `OUTPUT`, and `iptables -A FORWARD -d <toAddress> -p tcp --dport <toPort> -m conntrack --ctstate DNAT -j ACCEPT`.
 */
export interface PortForwardArgs extends CommonArgs {
  /** The port the traffic arrives at, 1-65535. */
  readonly hostPort: pulumi.Input<number>;
  /** The IPv4 address the traffic is forwarded to, e.g. `"10.0.0.2"` (an address literal, never a host name). */
  readonly toAddress: pulumi.Input<string>;
  /**
   * The port the traffic is forwarded to, 1-65535.
   *
   * @default - `hostPort`
   */
  readonly toPort?: pulumi.Input<number>;
  /**
   * The transport protocol: `"tcp"` or `"udp"`.
   *
   * @default "tcp"
   */
  readonly protocol?: pulumi.Input<"tcp" | "udp">;
  /**
   * Forward only traffic to this IPv4 address of the namespace.
   *
   * @default - any local address of the namespace (except loopback addresses)
   */
  readonly hostAddress?: pulumi.Input<string>;
  /**
   * Forward only traffic arriving on this interface (by name); traffic the host itself sends is
   * then not forwarded (it arrives on no interface).
   *
   * @default - traffic arriving on any interface, and traffic the host itself sends
   */
  readonly inInterface?: pulumi.Input<string>;
  /**
   * The namespace: its name, or a Netns resource (then the forward follows it when it is
   * re-created). Changing it replaces the forward.
   *
   * @default - the namespace the provider runs in (the host's)
   */
  readonly netns?: NetnsRef;
}

export class PortForward extends DynamicResource {
  /** The port the traffic arrives at. */
  declare readonly hostPort: pulumi.Output<number>;
  /** The address the traffic is forwarded to. */
  declare readonly toAddress: pulumi.Output<string>;
  /** The port the traffic is forwarded to. */
  declare readonly toPort: pulumi.Output<number>;
  /** The transport protocol. */
  declare readonly protocol: pulumi.Output<"tcp" | "udp">;
  /** The local address matched, if any. */
  declare readonly hostAddress: pulumi.Output<string | undefined>;
  /** The incoming interface matched, if any. */
  declare readonly inInterface: pulumi.Output<string | undefined>;
  /** The namespace (undefined: the host's). */
  declare readonly netns: pulumi.Output<string | undefined>;
  /** The iptables comment that marks this resource's rules, e.g. `nslab:0123456789ab:pf`. */
  declare readonly comment: pulumi.Output<string>;

  constructor(name: string, args: PortForwardArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      providerFor("PortForward"),
      name,
      { ...args, ...refInputs("netns", args.netns), owner: ownerOf(name, opts), host: hostOf(args.host, opts), comment: undefined },
      deletedWithRef(opts, args.netns),
      "nslab",
      "PortForward",
    );
  }
}
