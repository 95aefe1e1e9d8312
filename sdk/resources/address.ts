import type * as pulumi from "@pulumi/pulumi";
import { DIFFS } from "../../provider/lib/diffs";
import { hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { declareAddress, deletedWithRef, incarnationOf, netnsOf, linkRefInputs, refInputs, type LinkRef, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/**
 * An IPv4 or IPv6 address with its prefix length on an interface. Any change replaces it
 * (the old address is removed first). IPv6 addresses are added without duplicate address
 * detection, so they are usable at once.
 *
 * Equivalent to: `ip [-n <netns>] addr add <address> dev <device> [label <device>:<hash>] [nodad]`.
 */
export interface AddressArgs extends CommonArgs {
  /**
   * The interface: a VethPair (its first end), `vethPair.peer` (its second end) or Bridge
   * resource, which also orders the two, takes the link's namespace when `netns` is not given,
   * and replaces the address when the link is re-created; or an interface name.
   */
  readonly device: LinkRef;
  /**
   * The address and its prefix length in canonical form: IPv4 as four decimal parts
   * ("10.0.0.1/24"), IPv6 as RFC 5952 text ("2001:db8::1/64"). /31 and /32 (/127, /128) are
   * valid; the network and broadcast addresses of an IPv4 prefix, multicast, 0.0.0.0 and
   * 255.255.255.255 are not.
   */
  readonly address: pulumi.Input<string>;
  /**
   * Network namespace of the interface: a Netns resource or a namespace name.
   *
   * @default - the namespace of `device` when it is a resource, otherwise the namespace the
   * provider runs in (the host's)
   */
  readonly netns?: NetnsRef;
}

export class Address extends DynamicResource {
  /** The interface the address is on. */
  declare readonly device: pulumi.Output<string>;
  /** The address and its prefix length. */
  declare readonly address: pulumi.Output<string>;
  /** Namespace of the interface (undefined: the host's). */
  declare readonly netns: pulumi.Output<string | undefined>;
  /** Whether an existing address was allowed to be taken over. */
  declare readonly adopt: pulumi.Output<boolean | undefined>;
  /**
   * IPv4: the address label, nslab's mark `<device>:<hash>` (or the label an adopted address
   * had). Undefined for IPv6, which has no labels.
   */
  declare readonly label: pulumi.Output<string | undefined>;
  /**
   * A token that changes exactly when the address is re-created (a replace, its link's and
   * namespace's included): the Routes that rely on it take it, so they are re-installed with it
   * (the kernel flushes a link's routes when its last address of the family goes). Known during preview.
   */
  readonly incarnation: pulumi.Output<string>;

  constructor(name: string, args: AddressArgs, opts?: pulumi.CustomResourceOptions) {
    const inputs = {
      address: args.address,
      netns: undefined,
      ...linkRefInputs("device", args.device, netnsOf(args.netns, args.device), hostOf(args.host, opts)),
      ...(args.netns !== undefined ? refInputs("netns", args.netns) : { netns: netnsOf(undefined, args.device) }),
      adopt: args.adopt,
      owner: ownerOf(name, opts),
      host: hostOf(args.host, opts),
    };
    // `deletedWith` its Netns only, not its device: deleting the device does not remove this
    // resource's owner record under /run/nslab (deleting the namespace removes its records).
    super(providerFor("Address"), name, { ...inputs, label: undefined }, deletedWithRef(opts, args.netns), "nslab", "Address");
    this.incarnation = incarnationOf({ address: this.address }, inputs, DIFFS.Address.replace);
    declareAddress(this, { device: args.device, netns: netnsOf(args.netns, args.device), address: args.address, incarnation: this.incarnation, host: inputs.host });
  }
}
