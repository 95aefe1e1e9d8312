import type * as pulumi from "@pulumi/pulumi";
import { DIFFS } from "../../provider/lib/diffs";
import { defaultName, hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { declareLink, deletedWithRef, incarnationOf, netnsName, linkRefInputs, refInputs, type LinkRef, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/**
 * A pair of connected virtual Ethernet interfaces: what enters one end leaves the other. Each end
 * may be in its own network namespace and may join a bridge there.
 *
 * Equivalent to: `ip [-n <netns>] link add name <name> type veth peer name <peerName> [netns <peerNetns>]`,
 * then `ip link set dev <end> [master <bridge>] up` for both ends.
 */
export interface VethPairArgs extends CommonArgs {
  /**
   * Kernel name of the first end: 1-15 characters from A-Z a-z 0-9 _ . - (not starting with "."
   * or "-"). Changing it replaces the pair.
   *
   * @default - the resource name plus a short hash of the project and stack, cut to 15 characters
   */
  readonly name?: pulumi.Input<string>;
  /**
   * Kernel name of the second end, same rules as `name`; it must differ from `name` when both
   * ends are in the same namespace. Changing it replaces the pair.
   */
  readonly peerName: pulumi.Input<string>;
  /**
   * Network namespace of the first end: a Netns resource (which also orders the two and replaces
   * the pair when the namespace is re-created) or a namespace name. Changing it replaces the pair.
   *
   * @default - the namespace the provider runs in (the host's)
   */
  readonly netns?: NetnsRef;
  /**
   * Network namespace of the second end: a Netns resource or a namespace name. Changing it
   * replaces the pair.
   *
   * @default - the namespace the provider runs in (the host's)
   */
  readonly peerNetns?: NetnsRef;
  /**
   * Bridge the first end joins: a Bridge resource or a bridge name, in the same namespace as this
   * end. Changed in place; removing it stops managing membership (the end stays where it is).
   *
   * @default - not managed
   */
  readonly master?: LinkRef;
  /**
   * Bridge the second end joins: a Bridge resource or a bridge name, in the same namespace as that
   * end. Changed in place; removing it stops managing membership.
   *
   * @default - not managed
   */
  readonly peerMaster?: LinkRef;
  /**
   * MTU of both ends in bytes, 68-65535. Changed in place.
   *
   * @default - not managed (the kernel's 1500)
   */
  readonly mtu?: pulumi.Input<number>;
  /**
   * MAC address of the first end, canonical lower-case unicast (`02:00:00:00:00:01`). Changed in
   * place.
   *
   * @default - not managed (a random address chosen by the kernel)
   */
  readonly mac?: pulumi.Input<string>;
  /**
   * MAC address of the second end, canonical lower-case unicast. Changed in place.
   *
   * @default - not managed (a random address chosen by the kernel)
   */
  readonly peerMac?: pulumi.Input<string>;
  /**
   * Administrative state of both ends (the UP flag). Changed in place.
   *
   * @default true
   */
  readonly up?: pulumi.Input<boolean>;
}

/** A link reference to the second end of a VethPair (its name, namespace and the pair's incarnation). */
export interface VethPeer {
  /** Kernel name of the second end. */
  readonly name: pulumi.Output<string>;
  /** Interface index of the second end (in its namespace), as assigned by the kernel. */
  readonly ifindex: pulumi.Output<number>;
  /** The pair's incarnation: the two ends are made and re-made together. */
  readonly incarnation: pulumi.Output<string>;
  /** Namespace of the second end, as given (undefined: the host's). */
  readonly linkNetns: pulumi.Input<string> | undefined;
  /** The pair: deleting it deletes this end (and what is on it). */
  readonly resource: pulumi.Resource;
}

export class VethPair extends DynamicResource {
  /** Kernel name of the first end. */
  declare readonly name: pulumi.Output<string>;
  /** Kernel name of the second end. */
  declare readonly peerName: pulumi.Output<string>;
  /** Namespace of the first end (undefined: the host's). */
  declare readonly netns: pulumi.Output<string | undefined>;
  /** Namespace of the second end (undefined: the host's). */
  declare readonly peerNetns: pulumi.Output<string | undefined>;
  /** Bridge the first end is in, as the kernel reports it. */
  declare readonly master: pulumi.Output<string | undefined>;
  /** Bridge the second end is in, as the kernel reports it. */
  declare readonly peerMaster: pulumi.Output<string | undefined>;
  /** MTU of the ends, as the kernel reports it. */
  declare readonly mtu: pulumi.Output<number>;
  /** MAC address of the first end, as the kernel reports it. */
  declare readonly mac: pulumi.Output<string>;
  /** MAC address of the second end, as the kernel reports it. */
  declare readonly peerMac: pulumi.Output<string>;
  /** Whether both ends are up. */
  declare readonly up: pulumi.Output<boolean>;
  /** Whether an existing pair was allowed to be taken over. */
  declare readonly adopt: pulumi.Output<boolean | undefined>;
  /** Interface index of the first end, as assigned by the kernel. */
  declare readonly ifindex: pulumi.Output<number>;
  /** Interface index of the second end, as assigned by the kernel. */
  declare readonly peerIfindex: pulumi.Output<number>;
  /**
   * The second end as a link reference, e.g. the `device` of an Address on it (the VethPair
   * itself is the reference to its first end).
   */
  readonly peer: VethPeer;
  /** Namespace of the first end, as given (undefined: the host's): where an Address on it goes. */
  readonly linkNetns: pulumi.Input<string> | undefined;
  /**
   * A token that changes exactly when the pair is re-created (a replace, its namespaces'
   * included): resources that refer to either end take it, so they follow it. Known during preview.
   */
  readonly incarnation: pulumi.Output<string>;

  constructor(name: string, args: VethPairArgs, opts?: pulumi.CustomResourceOptions) {
    const owner = ownerOf(name, opts);
    const inputs = {
      name: args.name ?? defaultName(owner, 15),
      peerName: args.peerName,
      netns: undefined,
      peerNetns: undefined,
      master: undefined,
      peerMaster: undefined,
      ...refInputs("netns", args.netns),
      ...refInputs("peerNetns", args.peerNetns),
      ...linkRefInputs("master", args.master, netnsName(args.netns), hostOf(args.host, opts)),
      ...linkRefInputs("peerMaster", args.peerMaster, netnsName(args.peerNetns), hostOf(args.host, opts)),
      mtu: args.mtu,
      mac: args.mac,
      peerMac: args.peerMac,
      up: args.up,
      adopt: args.adopt,
      owner,
      host: hostOf(args.host, opts),
    };
    super(
      providerFor("VethPair"),
      name,
      { ...inputs, ifindex: undefined, peerIfindex: undefined },
      deletedWithRef(opts, args.netns, args.peerNetns),
      "nslab",
      "VethPair",
    );
    this.linkNetns = netnsName(args.netns);
    this.incarnation = incarnationOf({ name: this.name }, inputs, DIFFS.VethPair.replace);
    declareLink({ netns: this.linkNetns, name: inputs.name, incarnation: this.incarnation, host: inputs.host });
    declareLink({ netns: netnsName(args.peerNetns), name: args.peerName, incarnation: this.incarnation, host: inputs.host });
    this.peer = { name: this.peerName, ifindex: this.peerIfindex, incarnation: this.incarnation, linkNetns: netnsName(args.peerNetns), resource: this };
  }
}
