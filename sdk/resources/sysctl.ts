import type * as pulumi from "@pulumi/pulumi";
import { hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { linkIdentity, refInputs, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/**
 * A kernel parameter under /proc/sys, held at a value while the resource exists. Several
 * resources (or stacks) may hold the same key at the same value; a different value fails at
 * create. The last holder to leave restores the value from before the first, unless the value
 * was changed by hand meanwhile.
 *
 * Equivalent to: `sysctl -w <key>=<value>` (in a namespace: `ip netns exec <netns> sysctl -w <key>=<value>`).
 */
export interface SysctlArgs extends CommonArgs {
  /**
   * The sysctl's dotted name, as sysctl(8) writes it, e.g. `net.ipv4.ip_forward` or
   * `net.ipv4.conf.eth0.rp_filter`. A "." inside an interface name is written "/":
   * `net.ipv4.conf.eth0/100.forwarding` is /proc/sys/net/ipv4/conf/eth0.100/forwarding. Inside a
   * namespace only per-namespace keys (`net.*`) are allowed. Changing it replaces the resource.
   */
  readonly key: pulumi.Input<string>;
  /**
   * The value to hold: an integer, or a string as the kernel prints it (fields of a multi-value
   * key separated by whitespace, e.g. `"4096 131072 6291456"`). Compared with whitespace
   * normalised. Changed in place while this resource is the key's only holder.
   */
  readonly value: pulumi.Input<string | number>;
  /**
   * The namespace: its name, or a Netns resource (then the Sysctl follows it when it is
   * re-created). Changing it replaces the resource.
   *
   * @default - the namespace the provider runs in (the host's)
   */
  readonly netns?: NetnsRef;
}

export class Sysctl extends DynamicResource {
  /** The sysctl's dotted name. */
  declare readonly key: pulumi.Output<string>;
  /** The value held; after a refresh, the kernel's value when it was changed by hand. */
  declare readonly value: pulumi.Output<string | number>;
  /** The namespace (undefined: the host's). */
  declare readonly netns: pulumi.Output<string | undefined>;
  /** The value before the first holder (as the kernel printed it), restored by the last holder. */
  declare readonly previous: pulumi.Output<string>;

  constructor(name: string, args: SysctlArgs, opts?: pulumi.CustomResourceOptions) {
    // Not `deletedWith` the namespace: deleting the namespace does not remove this resource's
    // holder record under /run/nslab, so delete always runs.
    super(
      providerFor("Sysctl"),
      name,
      { ...args, ...refInputs("netns", args.netns), deviceIdentity: linkIdentity(args.key, args.netns, hostOf(args.host, opts)), owner: ownerOf(name, opts), host: hostOf(args.host, opts), previous: undefined },
      opts,
      "nslab",
      "Sysctl",
    );
  }
}
