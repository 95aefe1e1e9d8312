import * as pulumi from "@pulumi/pulumi";
import { broadcast, cidrProblem, contains, formatCidr, ipProblem, network, networkCidr, parseCidr, parseIp } from "../../provider/lib/cidr";
import { ifnameProblem } from "../../provider/lib/names";
import { defaultName, hostOf, ownerOf, placeOn, type HostArgs } from "../internal/common";
import { netnsName, type NetnsRef } from "../internal/refs";
import { Address } from "../resources/address";
import { FirewallRule } from "../resources/firewallRule";
import { NatRule } from "../resources/natRule";
import { Netns } from "../resources/netns";
import { PortForward } from "../resources/portForward";
import { Route } from "../resources/route";
import { Sysctl } from "../resources/sysctl";
import { VethPair } from "../resources/vethPair";
import { segmentInternals } from "../internal/segments";
import { Attachment, Segment } from "./segment";

/**
 * A namespace (or the host) that routes between several segments: per segment a veth pair whose
 * end in the router holds the segment's gateway address and whose other end joins the segment's
 * bridge; forwarding on; and, with `allow`, a filter policy: the listed traffic passes, anything
 * else forwarded between the joined segments is dropped.
 *
 * With `uplink` it also has a leg to the outside (a home or branch router): `nat` masquerades the
 * joined subnets out of it, `publish` forwards ports of the uplink address to attached hosts, and
 * `inbound` (default `"drop"`) lets in from the uplink only replies and published ports.
 *
 * Equivalent to: per segment `ip link add <leg> master <bridge> type veth peer name <segment> netns <router>;
 * ip -n <router> addr add <gateway>/<prefix> dev <segment>`, then `sysctl -w net.ipv4.ip_forward=1` and
 * `iptables -A FORWARD -s <from> -d <to> [-p <protocol> --dport <port>] -j ACCEPT` per rule, then
 * `iptables -A FORWARD -s <subnet A> -d <subnet B> -j DROP` per pair of segments. With an uplink:
 * `ip link add <outer> [netns <netns>] type veth peer name uplink netns <router>; ip -n <router> addr add
 * <address> dev uplink; ip -n <router> route add default via <gateway>`; per subnet with `nat`
 * `iptables -t nat -A POSTROUTING -s <subnet> -o uplink -j MASQUERADE`; per published port
 * `iptables -t nat -A PREROUTING -d <address> -i uplink -p <protocol> --dport <port> -j DNAT --to-destination <to>:<toPort>`;
 * with `inbound: "drop"` `iptables -A FORWARD -i uplink -j DROP` and `iptables -A INPUT -i uplink -j DROP`
 * (after the accepts of replies and of published ports).
 */
export interface RouterArgs extends HostArgs {
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
  /**
   * The router's leg to the outside: a veth pair whose end in the router is named `uplink` and
   * holds `address`, and whose other end is in `netns`.
   *
   * @default - no uplink
   */
  readonly uplink?: UplinkArgs;
  /**
   * MASQUERADE the traffic of every joined subnet leaving through the uplink (it leaves with the
   * uplink's address). Needs `uplink` and IPv4 segments.
   *
   * @default false
   */
  readonly nat?: boolean;
  /**
   * Ports published on the uplink's address: traffic arriving through the uplink to
   * `<uplink address>:<port>` goes to the attached host `to` (DNAT). Needs `uplink`.
   *
   * @default - none
   */
  readonly publish?: PublishRule[];
  /**
   * What may come in from the uplink, to the router or through it: `"drop"`, only the replies of
   * connections made from inside and the published ports; `"allow"`, everything. Needs `uplink`.
   * The drops are FirewallRules of priority 2000 (`<name>-inbound-forward`, `<name>-inbound-input`):
   * an allow rule, or a FirewallRule of your own with a lower priority, opens more.
   *
   * @default - "drop" when there is an uplink
   */
  readonly inbound?: "drop" | "allow";
}

/** A Router's leg to the outside. */
export interface UplinkArgs {
  /**
   * The namespace of the outer end: a Netns resource or a namespace name. The outer end's
   * interface name is derived from `<router>-uplink` (cut to fit 15 characters with a short hash).
   *
   * @default - the host's (the provider's) namespace
   */
  readonly netns?: NetnsRef;
  /** The router end's IPv4 address with prefix length, e.g. `"203.0.113.2/24"`. */
  readonly address: string;
  /**
   * An IPv4 address with prefix length for the outer end, in the same network as `address`.
   *
   * @default - no address on the outer end
   */
  readonly peerAddress?: string;
  /**
   * The router's default route via this IPv4 address, inside the network of `address`.
   *
   * @default - no default route
   */
  readonly gateway?: string;
}

/** A port published on a Router's uplink address. */
export interface PublishRule {
  /** The port on the uplink address, 1-65535. */
  readonly port: number;
  /** The attached host it goes to: an Attachment of a segment the router joins. */
  readonly to: Attachment;
  /**
   * The port on `to`, 1-65535.
   *
   * @default - port
   */
  readonly toPort?: number;
  /**
   * `"tcp"` or `"udp"`.
   *
   * @default "tcp"
   */
  readonly protocol?: "tcp" | "udp";
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
  /**
   * The filter policy: the allow rules in order (`<name>-allow-<i>`), the drops between segments
   * (`<name>-drop-<from>-<to>`), then the inbound drops (`<name>-inbound-forward`, `<name>-inbound-input`).
   */
  readonly rules: FirewallRule[];
  /** The uplink's veth pair (child `<name>-uplink`; the peer, `uplink`, is in the router), with `uplink`. */
  readonly uplink?: VethPair;
  /** The uplink's Addresses: the router end's (`<name>-uplink-address`), then the outer end's (`<name>-uplink-peer-address`). */
  readonly uplinkAddresses: Address[];
  /** The default route via the uplink's gateway (child `<name>-default`), with `uplink.gateway`. */
  readonly defaultRoute?: Route;
  /** Per joined segment, with `nat`: its MASQUERADE out of the uplink (child `<name>-nat-<segment>`). */
  readonly nat: NatRule[];
  /** Per published port, in order: its forward (child `<name>-publish-<protocol><port>`). */
  readonly published: PortForward[];
  /** The policy in a few words, one line per part (what `nslab graph` draws for the router). */
  readonly policy: string[];

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
    const v6 = segments.find((s) => s.plan.subnet.family === 6);
    if (args.allow) {
      if (args.allow.length > DROP_PRIORITY - ALLOW_PRIORITY) fail(`allow has ${args.allow.length} rules; at most ${DROP_PRIORITY - ALLOW_PRIORITY} are supported`);
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
    const uplink = args.uplink && checkUplink(args.uplink, fail);
    if (args.uplink && args.inHost && args.uplink.netns === undefined) {
      fail(`uplink.netns is unset with inHost true: both ends of the uplink would be in the host; give uplink.netns (the outside's namespace) or route in a namespace`);
    }
    for (const key of ["nat", "publish", "inbound"] as const) {
      const shown = key === "publish" ? `[${(args.publish ?? []).map((p) => `${p.protocol ?? "tcp"}/${p.port}`).join(", ")}]` : JSON.stringify(args[key]);
      if (args[key] !== undefined && !uplink) fail(`${key} ${shown} needs an uplink: give uplink { address, … } (the router's leg to the outside)`);
    }
    if (args.nat !== undefined && typeof args.nat !== "boolean") fail(`nat ${JSON.stringify(args.nat)} is not valid: use true or false`);
    if (args.inbound !== undefined && args.inbound !== "drop" && args.inbound !== "allow") fail(`inbound ${JSON.stringify(args.inbound)} is not valid: use "drop" (only replies and published ports come in) or "allow"`);
    if (args.nat && v6) fail(`nat true is not valid with the IPv6 segment "${v6.name}": NAT uses iptables, IPv4 only; leave nat out or join IPv4 segments only`);
    const publish = (args.publish ?? []).map((p, i) => checkPublish(p, i, names, fail));
    publish.forEach((p, i) => {
      const j = publish.findIndex((q) => q.port === p.port && q.protocol === p.protocol);
      if (j !== i) fail(`publish[${i}] is not valid: publish[${j}] already publishes ${p.protocol} port ${p.port}; publish each port once`);
    });
    super("nslab:index:Router", name, {}, opts);
    placeOn(this, hostOf(args.host, opts));
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

    this.uplinkAddresses = [];
    this.nat = [];
    this.published = [];
    if (uplink) {
      // "uplink" in a namespace of the router's own (unless a segment's leg has that name); a derived name in the host.
      const routerEnd = !args.inHost && !names.has(UPLINK) ? UPLINK : defaultName(ownerOf(`${name}-${UPLINK}-end`, child), 15);
      const leg = new VethPair(`${name}-uplink`, { netns: args.uplink!.netns, peerName: routerEnd, peerNetns: netns }, child);
      this.uplink = leg;
      const address = new Address(`${name}-uplink-address`, { device: leg.peer, address: uplink.address }, child);
      this.uplinkAddresses.push(address);
      if (uplink.peerAddress) this.uplinkAddresses.push(new Address(`${name}-uplink-peer-address`, { device: leg, address: uplink.peerAddress }, child));
      if (uplink.gateway) {
        this.defaultRoute = new Route(`${name}-default`, { destination: "default", via: uplink.gateway, device: leg.peer }, { parent: this, dependsOn: [address] });
      }
      if (args.nat) {
        for (const s of segments) this.nat.push(new NatRule(`${name}-nat-${s.name}`, { source: s.segment.subnet, outInterface: leg.peerName, netns }, child));
      }
      for (const p of publish) {
        this.published.push(
          new PortForward(
            `${name}-publish-${p.protocol}${p.port}`,
            { hostPort: p.port, toAddress: p.to.address, toPort: p.toPort, protocol: p.protocol, hostAddress: uplink.ip, inInterface: leg.peerName, netns },
            child,
          ),
        );
      }
      if ((args.inbound ?? "drop") === "drop") {
        for (const chain of ["forward", "input"] as const) {
          this.rules.push(new FirewallRule(`${name}-inbound-${chain}`, { action: "drop", chain, priority: DROP_PRIORITY, inInterface: leg.peerName, netns }, child));
        }
      }
    }

    const segmentOf = (x: Segment | string) => (typeof x === "string" ? x : segmentInternals(x).name);
    this.policy = [
      ...(args.nat ? [`NAT out of the uplink: ${segments.map((s) => s.name).join(", ")}`] : []),
      ...publish.map((p) => `publish ${p.protocol} ${uplink!.ip}:${p.port} → ${p.toName} ${p.to.address}:${p.toPort}`),
      ...(args.allow
        ? [
            ...args.allow.map((r) => `allow ${segmentOf(r.from)} → ${segmentOf(r.to)}${r.protocol && r.protocol !== "all" ? ` ${r.protocol}${r.port !== undefined ? `/${r.port}` : ""}` : ""}`),
            ...(segments.length > 1 ? [`drop the rest between ${segments.map((s) => s.name).join(", ")}`] : []),
          ]
        : segments.length > 1
          ? [`between ${segments.map((s) => s.name).join(", ")}: everything`]
          : []),
      ...(uplink ? [(args.inbound ?? "drop") === "drop" ? "inbound: replies and published ports only" : "inbound: everything"] : []),
    ];
    this.registerOutputs({ netns: this.netns, policy: this.policy });
  }
}

/** Kernel name of the router's end of its uplink. */
const UPLINK = "uplink";

/** Why an IPv4 address with prefix length is not a usable host address of its network; undefined when it is. */
function hostCidrProblem(text: unknown): string | undefined {
  if (typeof text !== "string" || !text.includes("/")) return `use an IPv4 address with prefix length, e.g. "203.0.113.2/24"`;
  const problem = cidrProblem(text);
  if (problem) return problem.replace(/\.$/, "");
  const c = parseCidr(text)!;
  if (c.family !== 4) return "the uplink is IPv4 only (NAT, published ports and the inbound policy use iptables)";
  if (c.prefix < 31 && (c.value === network(c).value || c.value === broadcast(c).value)) return `it is the network or broadcast address of ${formatCidr(networkCidr(c))}; use a host address`;
  return undefined;
}

/** The uplink, checked: its addresses and gateway in one IPv4 network. */
function checkUplink(u: UplinkArgs, fail: (why: string) => never): UplinkArgs & { ip: string } {
  const bad = hostCidrProblem(u.address);
  if (bad) fail(`uplink.address ${JSON.stringify(u.address)} is not valid: ${bad}`);
  const own = parseCidr(u.address)!;
  const net = formatCidr(networkCidr(own));
  if (u.peerAddress !== undefined) {
    const why = hostCidrProblem(u.peerAddress);
    if (why) fail(`uplink.peerAddress ${JSON.stringify(u.peerAddress)} is not valid: ${why}`);
    const peer = parseCidr(u.peerAddress)!;
    if (peer.prefix !== own.prefix || !contains(networkCidr(own), peer)) fail(`uplink.peerAddress ${JSON.stringify(u.peerAddress)} is not valid: it is not in the uplink's network ${net}; use another address of ${net} with /${own.prefix}`);
    if (peer.value === own.value) fail(`uplink.peerAddress ${JSON.stringify(u.peerAddress)} is not valid: it is uplink.address itself; give the outer end another address of ${net}`);
  }
  if (u.gateway !== undefined) {
    const why = typeof u.gateway === "string" ? ipProblem(u.gateway) : `use an IPv4 address such as "203.0.113.1"`;
    const ip = why ? undefined : parseIp(u.gateway)!;
    if (why || !contains(networkCidr(own), ip!) || ip!.value === own.value) {
      fail(`uplink.gateway ${JSON.stringify(u.gateway)} is not valid: ${why ?? (ip!.value === own.value ? "it is uplink.address itself" : `it is outside the uplink's network ${net}`)}; use another address of ${net}`);
    }
  }
  return { ...u, ip: u.address.split("/")[0]! };
}

/** A published port, checked: its target an attachment of a joined segment. */
function checkPublish(p: PublishRule, i: number, joined: ReadonlySet<string>, fail: (why: string) => never) {
  for (const key of ["port", "toPort"] as const) {
    const v = p[key];
    if ((key === "port" || v !== undefined) && !(Number.isInteger(v) && v! >= 1 && v! <= 65535)) fail(`publish[${i}].${key} ${JSON.stringify(v)} is not valid: use an integer from 1 to 65535`);
  }
  if (p.protocol !== undefined && p.protocol !== "tcp" && p.protocol !== "udp") fail(`publish[${i}].protocol ${JSON.stringify(p.protocol)} is not valid: use "tcp" or "udp"`);
  if (!(p.to instanceof Attachment)) fail(`publish[${i}].to is not valid: use an Attachment (what segment.attach returns) of a segment the router joins`);
  const seg = segmentInternals(p.to.segment).name;
  if (!joined.has(seg)) fail(`publish[${i}].to is attached to segment "${seg}", which the router does not join; add the segment to segments`);
  return { port: p.port, to: p.to, toPort: p.toPort ?? p.port, protocol: p.protocol ?? "tcp", toName: (p.to as unknown as { __name: string }).__name };
}

