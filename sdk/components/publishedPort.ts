import * as pulumi from "@pulumi/pulumi";
import { hostOf, placeOn, type HostArgs } from "../internal/common";
import { PortForward } from "../resources/portForward";
import { Sysctl } from "../resources/sysctl";
import { segmentInternals } from "../internal/segments";
import type { Attachment } from "./segment";

/**
 * A port of an attached namespace published in the namespace that routes for its segment (the
 * bridge's, which holds the gateway), as `docker run -p` does: traffic arriving there, and traffic
 * that namespace itself sends, to `hostAddress:hostPort` goes to the attachment's `port`. Needs
 * an IPv4 segment whose gateway is on the bridge. Usually made by `attachment.publish(args)`.
 *
 * Equivalent to: `sysctl -w net.ipv4.ip_forward=1` and
 * `iptables -t nat -A PREROUTING -p <protocol> -m addrtype --dst-type LOCAL --dport <hostPort> -j DNAT --to-destination <address>:<port>`
 * (the same in OUTPUT), in the bridge's namespace.
 */
export interface PublishedPortArgs extends HostArgs {
  /** The attached namespace whose port is published. */
  readonly attachment: Attachment;
  /** The port inside the namespace, 1-65535. */
  readonly port: number;
  /**
   * The port it is published on, 1-65535.
   *
   * @default - port
   */
  readonly hostPort?: number;
  /**
   * Publish only on this IPv4 address of the bridge's namespace.
   *
   * @default - every local address of the bridge's namespace (except loopback addresses)
   */
  readonly hostAddress?: pulumi.Input<string>;
  /**
   * The transport protocol: `"tcp"` or `"udp"`.
   *
   * @default "tcp"
   */
  readonly protocol?: "tcp" | "udp";
}

export class PublishedPort extends pulumi.ComponentResource {
  /** The forwarding Sysctl of the bridge's namespace (child `<name>-forwarding`; one of its holders). */
  readonly forwarding: Sysctl;
  /** The port forward (child `<name>-dnat`). */
  readonly portForward: PortForward;

  constructor(name: string, args: PublishedPortArgs, opts?: pulumi.ComponentResourceOptions) {
    const seg = segmentInternals(args.attachment.segment);
    const fail = (why: string): never => {
      throw new Error(`PublishedPort "${name}": ${why}`);
    };
    for (const [key, value] of [["port", args.port], ["hostPort", args.hostPort]] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= 65535)) fail(`${key} ${JSON.stringify(value)} is not valid: use an integer from 1 to 65535`);
    }
    if (args.protocol !== undefined && args.protocol !== "tcp" && args.protocol !== "udp") fail(`protocol ${JSON.stringify(args.protocol)} is not valid: use "tcp" or "udp"`);
    if (seg.plan.subnet.family !== 4) fail(`segment "${seg.name}" is IPv6; ports are published with iptables, IPv4 only`);
    if (!args.attachment.segment.gatewayAddress) {
      fail(
        `segment "${seg.name}" has no gateway on its bridge, so the bridge's namespace does not route for it; ` +
          `give the segment gateway: true (with gatewayOn "bridge"), or, for a segment behind a Router, publish it with the Router's publish`,
      );
    }
    super("nslab:index:PublishedPort", name, {}, { ...opts, parent: opts?.parent ?? args.attachment });
    placeOn(this, args.host ?? hostOf(undefined, { parent: args.attachment }));
    const child = { parent: this };
    this.forwarding = new Sysctl(`${name}-forwarding`, { key: "net.ipv4.ip_forward", value: 1, netns: seg.netns }, child);
    this.portForward = new PortForward(
      `${name}-dnat`,
      {
        hostPort: args.hostPort ?? args.port,
        toAddress: args.attachment.address,
        toPort: args.port,
        protocol: args.protocol,
        hostAddress: args.hostAddress,
        netns: seg.netns,
      },
      child,
    );
    this.registerOutputs({ comment: this.portForward.comment });
  }
}
