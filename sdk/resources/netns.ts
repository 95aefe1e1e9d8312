import type * as pulumi from "@pulumi/pulumi";
import { DIFFS } from "../../provider/lib/diffs";
import { defaultName, hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { incarnationOf } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/**
 * A named network namespace, with its loopback interface up.
 *
 * Equivalent to: `ip netns add <name> && ip -n <name> link set dev lo up`.
 */
export interface NetnsArgs extends CommonArgs {
  /**
   * Kernel name: the file name under /run/netns. Characters A-Z a-z 0-9 _ . - (not starting
   * with "-"). Changing it replaces the namespace (and everything in it).
   *
   * @default - the resource name plus a short hash of the project and stack
   */
  readonly name?: pulumi.Input<string>;
  /**
   * Whether the namespace's loopback interface `lo` is up. Changed in place.
   *
   * @default true
   */
  readonly loopback?: pulumi.Input<boolean>;
}

export class Netns extends DynamicResource {
  /** Kernel name of the namespace. */
  declare readonly name: pulumi.Output<string>;
  /** Whether `lo` is up. */
  declare readonly loopback: pulumi.Output<boolean>;
  /** Path of the namespace's bind mount, e.g. `/run/netns/red` (for `nsenter --net=<path>`). */
  declare readonly path: pulumi.Output<string>;
  /**
   * Tells this namespace from a later one of the same name, as the kernel sees it (inode and
   * ctime of its bind mount); the provider uses it to recognise the namespace it made.
   */
  declare readonly identity: pulumi.Output<string>;
  /**
   * A token that changes exactly when the namespace is re-created (a replace): resources that
   * refer to this one take it, so they follow it. Known during preview.
   */
  readonly incarnation: pulumi.Output<string>;

  constructor(name: string, args: NetnsArgs = {}, opts?: pulumi.CustomResourceOptions) {
    const owner = ownerOf(name, opts);
    const inputs = { ...args, name: args.name ?? defaultName(owner, 64), owner, host: hostOf(args.host, opts) };
    super(providerFor("Netns"), name, { ...inputs, path: undefined, identity: undefined }, opts, "nslab", "Netns");
    this.incarnation = incarnationOf({ name: this.name }, inputs, DIFFS.Netns.replace);
  }
}
