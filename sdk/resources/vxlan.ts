import * as pulumi from "@pulumi/pulumi";
import { DIFFS } from "../../provider/lib/diffs";
import { remoteList } from "../../provider/lib/vxlan";
import { defaultName, hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { declareLink, deletedWithRef, incarnationOf, linkRefInputs, netnsName, refInputs, type LinkRef, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/**
 * A VXLAN tunnel endpoint: an Ethernet link whose frames travel in UDP to the other end(s) over
 * the underlay network, so that bridges on two hosts (or in two namespaces) form one L2 segment.
 * With several remotes it is one link that sends broadcasts to each (head-end replication), so a
 * full mesh of hosts needs one Vxlan per host, and a bridge with it as its only tunnel port never loops.
 *
 * Equivalent to: `ip [-n <netns>] link add name <name> type vxlan id <vni> remote <remote> [local <local>] [dev <device>] dstport <dstPort>`,
 * `bridge fdb append 00:00:00:00:00:00 dev <name> dst <remote>` for each further remote, then
 * `ip link set dev <name> [master <bridge>] up`.
 */
export interface VxlanArgs extends CommonArgs {
  /**
   * Kernel name: 1-15 characters from A-Z a-z 0-9 _ . - (not starting with "." or "-"). Changing
   * it replaces the link.
   *
   * @default - the resource name plus a short hash of the project and stack, cut to 15 characters
   */
  readonly name?: pulumi.Input<string>;
  /**
   * VXLAN network identifier, 1-16777215: the same on every end of one tunnel. The kernel allows
   * one vxlan link per VNI and port in a namespace. Changing it replaces the link.
   */
  readonly vni: pulumi.Input<number>;
  /**
   * Underlay address of the other end, or a list of the other ends' addresses (unicast, all of one
   * family; order does not matter). Changing it replaces the link.
   */
  readonly remote: pulumi.Input<string> | pulumi.Input<pulumi.Input<string>[]>;
  /**
   * This end's underlay address, the source of the tunnel's packets. Changing it replaces the link.
   *
   * @default - chosen by the kernel's routing for each packet
   */
  readonly local?: pulumi.Input<string>;
  /**
   * Lower device: the underlay link the tunnel's packets leave through (its MTU less 50 bytes
   * becomes the link's MTU). Changing it replaces the link.
   *
   * @default - chosen by the kernel's routing (the link's MTU is then 1500)
   */
  readonly device?: pulumi.Input<string>;
  /**
   * UDP destination port, 1-65535: 4789 by default, VXLAN's IANA port (iproute2 without `dstport`
   * would use the Linux kernel's older 8472). Changing it replaces the link.
   *
   * @default 4789
   */
  readonly dstPort?: pulumi.Input<number>;
  /**
   * Network namespace of the link: a Netns resource (which also orders the two and replaces the
   * link when the namespace is re-created) or a namespace name. Changing it replaces the link.
   *
   * @default - the namespace the provider runs in (the host's)
   */
  readonly netns?: NetnsRef;
  /**
   * Bridge the link joins: a Bridge resource or a bridge name, in the link's namespace. Changed in
   * place; removing it stops managing membership.
   *
   * @default - not managed
   */
  readonly master?: LinkRef;
  /**
   * MTU in bytes, 68-65535. Changed in place.
   *
   * @default - not managed (the kernel's: the lower device's less 50 bytes, else 1500)
   */
  readonly mtu?: pulumi.Input<number>;
  /**
   * Administrative state (the UP flag). Changed in place.
   *
   * @default true
   */
  readonly up?: pulumi.Input<boolean>;
}

export class Vxlan extends DynamicResource {
  /** Kernel name of the link. */
  declare readonly name: pulumi.Output<string>;
  /** The VXLAN network identifier. */
  declare readonly vni: pulumi.Output<number>;
  /** The remotes of the link's flood list, sorted, as the kernel reports them. */
  declare readonly remote: pulumi.Output<string[]>;
  /** This end's underlay address, when set. */
  declare readonly local: pulumi.Output<string | undefined>;
  /** The lower device, when set. */
  declare readonly device: pulumi.Output<string | undefined>;
  /** The UDP destination port. */
  declare readonly dstPort: pulumi.Output<number>;
  /** Namespace of the link (undefined: the host's). */
  declare readonly netns: pulumi.Output<string | undefined>;
  /** Bridge the link is in, as the kernel reports it. */
  declare readonly master: pulumi.Output<string | undefined>;
  /** MTU, as the kernel reports it. */
  declare readonly mtu: pulumi.Output<number>;
  /** Whether the link is up. */
  declare readonly up: pulumi.Output<boolean>;
  /** Whether an existing link was allowed to be taken over. */
  declare readonly adopt: pulumi.Output<boolean | undefined>;
  /** Interface index, as assigned by the kernel. */
  declare readonly ifindex: pulumi.Output<number>;
  /** MAC address, as the kernel chose it. */
  declare readonly mac: pulumi.Output<string>;
  /** Namespace of the link, as given (undefined: the host's): where an Address on it goes. */
  readonly linkNetns: pulumi.Input<string> | undefined;
  /**
   * A token that changes exactly when the link is re-created (a replace, its namespace's
   * included): resources that refer to this one take it, so they follow it. Known during preview.
   */
  readonly incarnation: pulumi.Output<string>;

  constructor(name: string, args: VxlanArgs, opts?: pulumi.CustomResourceOptions) {
    const owner = ownerOf(name, opts);
    const inputs = {
      name: args.name ?? defaultName(owner, 15),
      vni: args.vni,
      remote: pulumi.output(args.remote).apply(remoteList),
      local: args.local,
      device: args.device,
      dstPort: args.dstPort,
      netns: undefined,
      master: undefined,
      ...refInputs("netns", args.netns),
      ...linkRefInputs("master", args.master, netnsName(args.netns), hostOf(args.host, opts)),
      mtu: args.mtu,
      up: args.up,
      adopt: args.adopt,
      owner,
      host: hostOf(args.host, opts),
    };
    super(providerFor("Vxlan"), name, { ...inputs, ifindex: undefined, mac: undefined }, deletedWithRef(opts, args.netns), "nslab", "Vxlan");
    this.linkNetns = netnsName(args.netns);
    this.incarnation = incarnationOf({ name: this.name }, inputs, DIFFS.Vxlan.replace);
    declareLink({ netns: this.linkNetns, name: inputs.name, incarnation: this.incarnation, host: inputs.host });
  }
}
