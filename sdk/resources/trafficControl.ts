import type * as pulumi from "@pulumi/pulumi";
import { hostOf, ownerOf, type CommonArgs } from "../internal/common";
import { deletedWithRef, netnsOfLink, refInputs, type LinkRef, type NetnsRef } from "../internal/refs";
import { DynamicResource, providerFor } from "../internal/shim";

/** Rate, delay and loss of a link end's egress, in tc's units. */
export interface LinkShaping {
  /**
   * The most the interface sends, in tc's rate units: bit, kbit, mbit, gbit, tbit (bits per
   * second) or bps, kbps, mbps, gbps, tbps (bytes per second), e.g. "8mbit".
   *
   * @default - no limit
   */
  readonly rate?: pulumi.Input<string>;
  /**
   * The token bucket of the rate: how much may leave at once, e.g. "32kb" (kb = 1024 bytes).
   *
   * @default - 10 ms at the rate, at least 16 KiB
   */
  readonly burst?: pulumi.Input<string>;
  /**
   * Added delay, in s, ms or us, e.g. "20ms" (netem).
   *
   * @default - none
   */
  readonly delay?: pulumi.Input<string>;
  /**
   * Random variation of the delay, e.g. "5ms" (netem; needs delay).
   *
   * @default - none
   */
  readonly jitter?: pulumi.Input<string>;
  /**
   * Share of packets dropped at random, e.g. "1%" (netem).
   *
   * @default - none
   */
  readonly loss?: pulumi.Input<string>;
  /**
   * Share of packets sent twice, e.g. "0.5%" (netem).
   *
   * @default - none
   */
  readonly duplicate?: pulumi.Input<string>;
  /**
   * Share of packets with a bit flipped, e.g. "0.1%" (netem).
   *
   * @default - none
   */
  readonly corrupt?: pulumi.Input<string>;
  /**
   * Length of the queue in packets (netem's limit; with a rate alone, the tbf queues that many
   * full-size frames).
   *
   * @default - netem 1000 packets; tbf 50 ms at the rate
   */
  readonly limit?: pulumi.Input<number>;
}

/**
 * Rate, delay and loss on one link end: what leaves the interface (its egress) is shaped, as
 * `tc` does. To shape both directions of a veth pair, shape both ends (`device: pair` and
 * `device: pair.peer`). A rate is a `tbf` qdisc; delay, jitter, loss, duplication and corruption
 * are a `netem` (kernel module sch_netem: without it, a create that asks for them fails before
 * anything changes, naming the module). Values are in tc's units: "8mbit", "32kb", "20ms", "1%".
 * Every value changes in place (`tc qdisc change`). The qdisc's handle marks it as this
 * resource's; a root qdisc that nslab did not make is refused unless `adopt` is set (it is then
 * replaced, and delete leaves the kernel's default).
 *
 * Equivalent to: `tc [-n <netns>] qdisc add dev <device> root handle <hash>: tbf rate <rate> burst <burst> latency 50ms`,
 * or `... root handle <hash>: netem [limit <limit>] [delay <delay> [<jitter>]] [loss <loss>] [duplicate <p>] [corrupt <p>]`
 * with the tbf at `parent <hash>:1` when both are asked for.
 */
export interface TrafficControlArgs extends CommonArgs, LinkShaping {
  /**
   * The interface: a VethPair (its first end), `vethPair.peer` (its second end) or Bridge
   * resource, which also orders the two, takes the link's namespace when `netns` is not given,
   * and replaces the shaping when the link is re-created; or an interface name.
   */
  readonly device: LinkRef;
  /**
   * Network namespace of the interface: a Netns resource or a namespace name.
   *
   * @default - the namespace of `device` when it is a resource, otherwise the host's
   */
  readonly netns?: NetnsRef;
}

export class TrafficControl extends DynamicResource {
  /** The interface that is shaped. */
  declare readonly device: pulumi.Output<string>;
  /** Namespace of the interface (undefined: the host's). */
  declare readonly netns: pulumi.Output<string | undefined>;
  /**
   * The rate, as given; after a refresh, the kernel's when someone changed it by hand (then in
   * bits per second, e.g. "4000000bit").
   */
  declare readonly rate: pulumi.Output<string | undefined>;
  /** The handle of the root qdisc ("<hex>:"), nslab's mark, from the owner's hash. */
  declare readonly handle: pulumi.Output<string>;

  constructor(name: string, args: TrafficControlArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      providerFor("TrafficControl"),
      name,
      {
        netns: undefined,
        ...refInputs("device", args.device),
        ...(args.netns !== undefined ? refInputs("netns", args.netns) : { netns: netnsOfLink(args.device) }),
        rate: args.rate,
        burst: args.burst,
        delay: args.delay,
        jitter: args.jitter,
        loss: args.loss,
        duplicate: args.duplicate,
        corrupt: args.corrupt,
        limit: args.limit,
        adopt: args.adopt,
        owner: ownerOf(name, opts),
        host: hostOf(args.host, opts),
        handle: undefined,
      },
      deletedWithRef(opts, args.netns, args.device),
      "nslab",
      "TrafficControl",
    );
  }
}
