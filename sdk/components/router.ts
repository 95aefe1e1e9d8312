import * as pulumi from "@pulumi/pulumi";
import { ifnameProblem } from "../../provider/lib/names";
import { defaultName, ownerOf } from "../internal/common";
import { netnsName, type NetnsRef } from "../internal/refs";
import { Address } from "../resources/address";
import { FirewallRule } from "../resources/firewallRule";
import { Netns } from "../resources/netns";
import { Sysctl } from "../resources/sysctl";
import { VethPair } from "../resources/vethPair";
import { segmentInternals } from "../internal/segments";
import { Segment } from "./segment";

/**
 * A namespace (or the host) that routes between several segments: per segment a veth pair whose
 * end in the router holds the segment's gateway address and whose other end joins the segment's
 * bridge; forwarding on; and, with `allow`, a filter policy: the listed traffic passes, anything
 * else forwarded between the joined segments is dropped.
 *
 * Equivalent to: per segment `ip link add <leg> master <bridge> type veth peer name <segment> netns <router>;
 * ip -n <router> addr add <gateway>/<prefix> dev <segment>`, then `sysctl -w net.ipv4.ip_forward=1` and
 * `iptables -A FORWARD -s <from> -d <to> [-p <protocol> --dport <port>] -j ACCEPT` per rule, then
 * `iptables -A FORWARD -s <subnet A> -d <subnet B> -j DROP` per pair of segments.
 */
export interface RouterArgs {
  /**
   * The segments to join. Each needs a gateway held by the router (`gateway` set and
   * `gatewayOn: "router"`), and no two may share a name.
   */
  readonly segments: Segment[];
  /**
   * The namespace to route in: a Netns resource or a namespace name. Exclusive with `inHost`.
   *
   * @default - a new Netns, child `<name>-netns`
   */
  readonly netns?: NetnsRef;
  /**
   * Route in the host's own namespace (the provider's) instead of a namespace of the router's own.
   *
   * @default false
   */
  readonly inHost?: boolean;
  /**
   * The filter policy, in order: traffic matching a rule is forwarded. When given (even empty),
   * any other traffic forwarded between the joined segments' subnets is dropped (traffic to or
   * from elsewhere is not). Replies of allowed connections always pass. IPv4 segments only.
   * The rules are FirewallRules of the router's namespace with priority 1000 + their index, the
   * drops have priority 2000: a FirewallRule of your own there with a priority in between
   * (e.g. 1500) adds to the policy.
   *
   * @default - no filtering: everything is forwarded
   */
  readonly allow?: AllowRule[];
}

/** One rule of a Router's filter policy: traffic `from` to `to` is forwarded. */
export interface AllowRule {
  /** The sender: a segment (its subnet), or an IPv4 address or network in canonical form. */
  readonly from: Segment | string;
  /** The receiver: a segment (its subnet), or an IPv4 address or network in canonical form. */
  readonly to: Segment | string;
  /**
   * The protocol: `"tcp"`, `"udp"`, `"icmp"` or `"all"`.
   *
   * @default "all"
   */
  readonly protocol?: "tcp" | "udp" | "icmp" | "all";
  /**
   * The destination port (1-65535) or range `"from:to"`; needs protocol `"tcp"` or `"udp"`.
   *
   * @default - any port
   */
  readonly port?: number | string;
}

/** Priorities of the router's rules: allows in their order, then the drops (so adding an allow changes no drop). */
const ALLOW_PRIORITY = 1000;
const DROP_PRIORITY = 2000;

export class Router extends pulumi.ComponentResource {
  /** Name of the namespace it routes in (undefined: the host's). */
  readonly netns: pulumi.Output<string | undefined>;
  /** The namespace it made (child `<name>-netns`), when neither `netns` nor `inHost` was given. */
  readonly netnsResource?: Netns;
  /** Per segment, in the order given: the veth pair joining it (child `<name>-<segment>-leg`; the peer is in the router). */
  readonly legs: VethPair[];
  /** Per segment, in the order given: the gateway Address on the router's end (child `<name>-<segment>-address`). */
  readonly gatewayAddresses: Address[];
  /** The forwarding Sysctls of the router's namespace (`<name>-forwarding`, and `<name>-forwarding6` for IPv6 segments). */
  readonly forwarding: Sysctl[];
  /** The filter policy: the allow rules in order (`<name>-allow-<i>`), then the drops between segments (`<name>-drop-<from>-<to>`). */
  readonly rules: FirewallRule[];

  constructor(name: string, args: RouterArgs, opts?: pulumi.ComponentResourceOptions) {
    const fail = (why: string): never => {
      throw new Error(`Router "${name}": ${why}`);
    };
    if (args.inHost && args.netns !== undefined) fail(`netns and inHost true are exclusive: route in a given namespace, or in the host's`);
    if (args.segments.length === 0) fail(`segments is empty: give the segments to join`);
    const segments = args.segments.map((s) => ({ segment: s, ...segmentInternals(s) }));
    const names = new Set<string>();
    for (const s of segments) {
      if (names.has(s.name)) fail(`segment "${s.name}" is joined twice: give each segment once`);
      names.add(s.name);
      if (!s.plan.gateway || s.segment.gatewayOn !== "router") {
        fail(
          `segment "${s.name}" is not valid: ${!s.plan.gateway ? "it has no gateway" : `its gateway is on its bridge`}; ` +
            `a router holds the gateways of the segments it joins: give it gateway (true or an address) and gatewayOn "router"`,
        );
      }
    }
    const cidrOf = (x: Segment | string): string => (typeof x === "string" ? x : x.subnet);
    if (args.allow) {
      if (args.allow.length > DROP_PRIORITY - ALLOW_PRIORITY) fail(`allow has ${args.allow.length} rules; at most ${DROP_PRIORITY - ALLOW_PRIORITY} are supported`);
      const v6 = segments.find((s) => s.plan.subnet.family === 6);
      if (v6) fail(`allow is not valid with the IPv6 segment "${v6.name}": the filter policy uses iptables, IPv4 only; leave allow out`);
      args.allow.forEach((r, i) => {
        if (r.port !== undefined && r.protocol !== "tcp" && r.protocol !== "udp") {
          fail(`allow[${i}] port ${JSON.stringify(r.port)} needs protocol "tcp" or "udp" (got ${JSON.stringify(r.protocol ?? "all")}); set protocol`);
        }
        for (const end of [r.from, r.to]) {
          if (end instanceof Segment && !names.has(segmentInternals(end).name)) {
            fail(`allow[${i}] names segment "${segmentInternals(end).name}", which the router does not join; add it to segments or give its subnet ${end.subnet} as a string`);
          }
        }
      });
    }
    super("nslab:index:Router", name, {}, opts);
    const child = { parent: this };
    const netns: NetnsRef | undefined = args.inHost ? undefined : (args.netns ?? (this.netnsResource = new Netns(`${name}-netns`, {}, child)));
    this.netns = pulumi.output(netnsName(netns));

    this.legs = [];
    this.gatewayAddresses = [];
    for (const s of segments) {
      // The router's end is named after the segment in a namespace of its own; in the host, where
      // names of other stacks and of the host itself live, it gets a derived name.
      const ifname = !args.inHost && !ifnameProblem(s.name) ? s.name : defaultName(ownerOf(`${name}-${s.name}`, child), 15);
      const leg = new VethPair(`${name}-${s.name}-leg`, { netns: s.netns, master: s.segment.bridge, peerName: ifname, peerNetns: netns }, child);
      this.legs.push(leg);
      this.gatewayAddresses.push(new Address(`${name}-${s.name}-address`, { device: leg.peer, address: `${s.plan.gateway}/${s.plan.subnet.prefix}` }, child));
    }

    this.forwarding = [];
    if (segments.some((s) => s.plan.subnet.family === 4)) this.forwarding.push(new Sysctl(`${name}-forwarding`, { key: "net.ipv4.ip_forward", value: 1, netns }, child));
    if (segments.some((s) => s.plan.subnet.family === 6)) this.forwarding.push(new Sysctl(`${name}-forwarding6`, { key: "net.ipv6.conf.all.forwarding", value: 1, netns }, child));

    this.rules = [];
    if (args.allow) {
      args.allow.forEach((r, i) => {
        this.rules.push(
          new FirewallRule(
            `${name}-allow-${i}`,
            { action: "accept", priority: ALLOW_PRIORITY + i, source: cidrOf(r.from), destination: cidrOf(r.to), protocol: r.protocol, destinationPort: r.port, netns },
            child,
          ),
        );
      });
      for (const from of segments) {
        for (const to of segments) {
          if (from === to) continue;
          this.rules.push(
            new FirewallRule(`${name}-drop-${from.name}-${to.name}`, { action: "drop", priority: DROP_PRIORITY, source: from.segment.subnet, destination: to.segment.subnet, netns }, child),
          );
        }
      }
    }
    this.registerOutputs({ netns: this.netns });
  }
}
