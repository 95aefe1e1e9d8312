import type * as pulumi from "@pulumi/pulumi";
import { hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { addressesIdentity, deletedWithRef, netnsOf, linkRefInputs, refInputs, type LinkRef, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/**
 * A unicast route, marked as nslab's with `proto 199`. A change of namespace, destination, table
 * or metric replaces it (the old route is removed first); `via` and `device` change in place.
 * A gateway must be on-link when the route is created. A route relies on the Addresses in its
 * `dependsOn`, on those declared before it on its `device` resource (without a device: those in
 * its namespace that cover `via`): it is created after them, and re-installed when one is
 * re-created (the kernel flushes a link's routes when its last address goes). Add an Address
 * declared otherwise to `dependsOn`.
 *
 * Equivalent to: `ip [-n <netns>] route add <destination> [via <via>] [dev <device>] table <table> metric <metric> proto 199`.
 */
export interface RouteArgs extends CommonArgs {
  /**
   * Where the route leads: `"default"`, or a network in canonical CIDR form without host bits
   * ("10.1.0.0/16", "2001:db8:1::/64"). `"default"` is the IPv4 default route unless `via` is
   * IPv6; write `"::/0"` for an IPv6 default route through a device alone.
   */
  readonly destination: pulumi.Input<string>;
  /**
   * The gateway's address (canonical, without prefix length), in the destination's family. It
   * must be covered by an address on an interface that is up. Changed in place, except that with
   * destination `"default"` a gateway of the other family makes another route, which replaces this
   * one. Leaving it unset makes a route straight through `device`.
   *
   * @default - no gateway
   */
  readonly via?: pulumi.Input<string>;
  /**
   * The interface the route leaves through: a VethPair, `vethPair.peer` or Bridge resource
   * (which also orders the two and takes the link's namespace when `netns` is not given) or an
   * interface name. At least one of `via` and `device` is required. Changed in place.
   *
   * @default - chosen by the kernel from `via`
   */
  readonly device?: LinkRef;
  /**
   * Network namespace of the route: a Netns resource or a namespace name.
   *
   * @default - the namespace of `device` when it is a resource, otherwise the namespace the
   * provider runs in (the host's)
   */
  readonly netns?: NetnsRef;
  /**
   * Route metric (priority; lower wins), 0-4294967295. Part of the route's identity: changing it
   * replaces the route.
   *
   * @default - the kernel's: 0 for IPv4, 1024 for IPv6
   */
  readonly metric?: pulumi.Input<number>;
  /**
   * Routing table: `"main"`, or a table number from 1 to 252 or 256 to 4294967295 (for policy
   * routing). 253 ("default") and 255 ("local") are reserved, and other table names are refused
   * because `/etc/iproute2/rt_tables` differs between hosts. Changing it replaces the route.
   *
   * @default "main"
   */
  readonly table?: pulumi.Input<number | "main">;
}

export class Route extends DynamicResource {
  /** Where the route leads. */
  declare readonly destination: pulumi.Output<string>;
  /** The gateway, as the kernel reports it. */
  declare readonly via: pulumi.Output<string | undefined>;
  /** The interface the route leaves through, as the kernel reports it. */
  declare readonly device: pulumi.Output<string | undefined>;
  /** Namespace of the route (undefined: the host's). */
  declare readonly netns: pulumi.Output<string | undefined>;
  /** The metric given (undefined: the kernel's default). */
  declare readonly metric: pulumi.Output<number | undefined>;
  /** The routing table. */
  declare readonly table: pulumi.Output<number | "main">;
  /** Whether an existing route was allowed to be taken over. */
  declare readonly adopt: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: RouteArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      providerFor("Route"),
      name,
      {
        destination: args.destination,
        via: args.via,
        device: undefined,
        netns: undefined,
        ...linkRefInputs("device", args.device, netnsOf(args.netns, args.device), hostOf(args.host, opts)),
        ...(args.netns !== undefined ? refInputs("netns", args.netns) : { netns: netnsOf(undefined, args.device) }),
        addressIdentity: addressesIdentity(args, opts?.dependsOn, hostOf(args.host, opts)),
        metric: args.metric,
        table: args.table,
        adopt: args.adopt,
        owner: ownerOf(name, opts),
        host: hostOf(args.host, opts),
      },
      // \`deletedWith\` its Netns only, not its device: deleting the device does not remove this
      // resource's owner record under /run/nslab (deleting the namespace removes its records).
      deletedWithRef(opts, args.netns),
      "nslab",
      "Route",
    );
  }
}
