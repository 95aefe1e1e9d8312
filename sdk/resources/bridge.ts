import type * as pulumi from "@pulumi/pulumi";
import { DIFFS } from "../../provider/lib/diffs";
import { defaultName, hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { declareLink, deletedWithRef, incarnationOf, netnsName, refInputs, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/**
 * A Linux bridge (a virtual switch): VethPair ends join it through their `master`. Its MAC
 * address is pinned at creation, so it does not change as ports come and go.
 *
 * Equivalent to: `ip [-n <netns>] link add name <name> address <mac> type bridge && ip link set dev <name> up`.
 */
export interface BridgeArgs extends CommonArgs {
  /**
   * Kernel name: 1-15 characters from A-Z a-z 0-9 _ . - (not starting with "." or "-"). Changing
   * it replaces the bridge (its ports are detached, then join the new one through their `master`).
   *
   * @default - the resource name plus a short hash of the project and stack, cut to 15 characters
   */
  readonly name?: pulumi.Input<string>;
  /**
   * Network namespace of the bridge: a Netns resource (which also orders the two and replaces the
   * bridge when the namespace is re-created) or a namespace name. Changing it replaces the bridge.
   *
   * @default - the namespace the provider runs in (the host's)
   */
  readonly netns?: NetnsRef;
  /**
   * MTU in bytes, 68-65535; once set it stays, whatever the ports' MTUs. Changed in place.
   *
   * @default - not managed: the kernel keeps it at the smallest MTU of the ports
   */
  readonly mtu?: pulumi.Input<number>;
  /**
   * Spanning Tree Protocol. `true` also sets the shortest forward delay the kernel allows (2 s),
   * so a new port forwards within about 4 s instead of 30. Changed in place.
   *
   * @default - not managed (a new bridge has STP off: ports forward at once)
   */
  readonly stp?: pulumi.Input<boolean>;
  /**
   * Administrative state (the UP flag). Changed in place.
   *
   * @default true
   */
  readonly up?: pulumi.Input<boolean>;
}

export class Bridge extends DynamicResource {
  /** Kernel name of the bridge. */
  declare readonly name: pulumi.Output<string>;
  /** Namespace of the bridge (undefined: the host's). */
  declare readonly netns: pulumi.Output<string | undefined>;
  /** MTU, as the kernel reports it. */
  declare readonly mtu: pulumi.Output<number>;
  /** Whether STP is on, as the kernel reports it. */
  declare readonly stp: pulumi.Output<boolean>;
  /** Whether the bridge is up. */
  declare readonly up: pulumi.Output<boolean>;
  /** Whether an existing bridge was allowed to be taken over. */
  declare readonly adopt: pulumi.Output<boolean | undefined>;
  /** Interface index, as assigned by the kernel. */
  declare readonly ifindex: pulumi.Output<number>;
  /** The pinned MAC address: locally administered, derived from the project, stack and resource name. */
  declare readonly mac: pulumi.Output<string>;
  /** Namespace of the bridge, as given (undefined: the host's): where an Address on it goes. */
  readonly linkNetns: pulumi.Input<string> | undefined;
  /**
   * A token that changes exactly when the bridge is re-created (a replace, its namespace's
   * included): resources that refer to this one take it, so they follow it (its ports re-join).
   * Known during preview.
   */
  readonly incarnation: pulumi.Output<string>;

  constructor(name: string, args: BridgeArgs = {}, opts?: pulumi.CustomResourceOptions) {
    const owner = ownerOf(name, opts);
    const inputs = {
      name: args.name ?? defaultName(owner, 15),
      netns: undefined,
      ...refInputs("netns", args.netns),
      mtu: args.mtu,
      stp: args.stp,
      up: args.up,
      adopt: args.adopt,
      owner,
      host: hostOf(args.host, opts),
    };
    super(providerFor("Bridge"), name, { ...inputs, ifindex: undefined, mac: undefined }, deletedWithRef(opts, args.netns), "nslab", "Bridge");
    this.linkNetns = netnsName(args.netns);
    this.incarnation = incarnationOf({ name: this.name }, inputs, DIFFS.Bridge.replace);
    declareLink({ netns: this.linkNetns, name: inputs.name, incarnation: this.incarnation, host: inputs.host });
  }
}
