import * as pulumi from "@pulumi/pulumi";
import { familyOf } from "../../provider/lib/cidr";
import { hostKey, hostLabel, type Host } from "../../provider/lib/host";
import { shortHash } from "../../provider/lib/names";
import { underlayProblem } from "../../provider/lib/vxlan";
import { hostOf, placeOn, type HostArgs } from "../internal/common";
import { netnsName, type NetnsRef } from "../internal/refs";
import { segmentInternals, setSegmentInternals } from "../internal/segments";
import { Address } from "../resources/address";
import { Bridge } from "../resources/bridge";
import { NatRule } from "../resources/natRule";
import { Route } from "../resources/route";
import { Sysctl } from "../resources/sysctl";
import { TrafficControl, type LinkShaping } from "../resources/trafficControl";
import { VethPair } from "../resources/vethPair";
import { Vxlan } from "../resources/vxlan";
import { allocate, planSubnet } from "./allocate";
import { PublishedPort, type PublishedPortArgs } from "./publishedPort";

/**
 * An L2 network: a bridge, a subnet, optionally a gateway address and NAT to the outside, and the
 * namespaces attached to it (`segment.attach(name, args)`), each by a veth pair with an address
 * from the subnet and a default route via the gateway. Docker's default bridge is a Segment with
 * `gateway: true, nat: true`. Given `hosts`, it spans several hosts: a bridge on each, joined by
 * VXLAN, one subnet and one address plan for the namespaces attached on any of them.
 *
 * Equivalent to: `ip link add <bridge> type bridge; ip addr add <gateway>/<prefix> dev <bridge>;
 * sysctl -w net.ipv4.ip_forward=1; iptables -t nat -A POSTROUTING -s <subnet> ! -o <bridge> -j MASQUERADE`.
 */
export interface SegmentArgs extends HostArgs {
  /**
   * The segment's subnet, a canonical network in CIDR form without host bits (`"10.0.0.0/24"`,
   * `"2001:db8:1::/64"`), with room for at least two addresses. A plain string, not an Input:
   * the attachments' addresses are allocated from it when the program runs.
   */
  readonly subnet: string;
  /**
   * Where the bridge lives: a Netns resource or a namespace name.
   *
   * @default - the namespace the provider runs in (the host's)
   */
  readonly netns?: NetnsRef;
  /**
   * Kernel name of the bridge (1-15 characters). Changing it replaces the bridge.
   *
   * @default - `<name>-bridge` plus a short hash of the project and stack, cut to 15 characters
   */
  readonly bridgeName?: pulumi.Input<string>;
  /**
   * The segment's gateway: `true` for the subnet's first host address, or an address inside the
   * subnet (not its network or broadcast address). Attachments get a default route via it.
   *
   * @default - no gateway
   */
  readonly gateway?: boolean | string;
  /**
   * Who holds the gateway address: `"bridge"`, an Address on the bridge (the bridge's namespace
   * routes for the segment, as Docker's bridge does), or `"router"`, a Router joining the
   * segment (the Segment then makes no Address).
   *
   * @default "bridge"
   */
  readonly gatewayOn?: "bridge" | "router";
  /**
   * NAT to the outside: forwarding on in the bridge's namespace (`net.ipv4.ip_forward=1`) and a
   * MASQUERADE of the subnet's traffic leaving through any interface but the bridge. Needs an
   * IPv4 subnet and the gateway on the bridge.
   *
   * @default false
   */
  readonly nat?: boolean;
  /**
   * MTU of the bridge in bytes, 68-65535. Changed in place. With `hosts`, also of the tunnels and
   * of the attachments' veth pairs: a bridge drops a frame larger than the port it leaves by.
   *
   * @default - not managed: the kernel keeps it at the smallest MTU of the ports; with `hosts`, a
   * 1500-byte underlay's less the VXLAN header: 1450 (IPv6 underlay: 1430)
   */
  readonly mtu?: pulumi.Input<number>;
  /**
   * Spanning Tree Protocol on the bridge (with the shortest forward delay). Changed in place.
   *
   * @default - not managed (off)
   */
  readonly stp?: pulumi.Input<boolean>;
  /**
   * The hosts the segment spans, at least two: on each a bridge and a Vxlan on it whose remotes
   * are the other hosts' underlay addresses, so the bridges are one L2 network; an attachment is on
   * one of them (its `host`). The first holds the gateway address and NAT. Not with `host`.
   *
   * @default - one host: the segment's `host`
   */
  readonly hosts?: readonly SegmentHost[];
  /**
   * VXLAN network identifier of the tunnels between the hosts, 1-16777215. Only with `hosts`.
   *
   * @default - derived from the project, stack and segment name
   */
  readonly vni?: number;
}

/** A host a Segment spans (`SegmentArgs.hosts`). */
export interface SegmentHost {
  /**
   * The lab host, `{ address, user?, port?, identityFile? }`.
   *
   * @default - the machine the provider runs on
   */
  readonly host?: Host;
  /**
   * The host's address on the underlay network the tunnels cross (canonical, unicast; all hosts
   * of one family): the source of its tunnel packets, and the other hosts' remote for it.
   */
  readonly underlay: string;
}

/** A spanning segment's bridge on one of its hosts. */
interface Site {
  readonly host?: Host;
  readonly bridge: Bridge;
}

/** The sites of each spanning segment (and the MTU its ports get), for its attachments. */
const spans = new WeakMap<Segment, { sites: Site[]; mtu: pulumi.Input<number> }>();

/** The MTU of an Ethernet frame carried over a VXLAN underlay of a 1500-byte MTU (IPv4 adds 50 bytes, IPv6 70). */
const tunnelMtu = (underlay: string) => (familyOf(underlay) === 6 ? 1430 : 1450);

/** The spanning part of a Segment's arguments, checked: its VNI, or a reason (thrown by the caller). */
function checkHosts(name: string, args: SegmentArgs): number | undefined {
  const fail = (why: string): never => {
    throw new Error(`Segment "${name}": ${why}`);
  };
  if (args.hosts === undefined) {
    if (args.vni !== undefined) fail(`vni ${args.vni} is not valid without hosts: a segment on one host has no tunnel; drop vni, or give the hosts the segment spans`);
    return undefined;
  }
  if (args.host) fail(`host and hosts are not valid together: give every host the segment spans in hosts (as { host, underlay }), and no host`);
  if (!Array.isArray(args.hosts) || args.hosts.length < 2) fail(`hosts is not valid: give at least two hosts ({ host?, underlay } each); a segment on one host needs no hosts, only host`);
  const keys = new Set<string>();
  for (const [i, h] of args.hosts.entries()) {
    const problem = underlayProblem(h?.underlay);
    if (problem) fail(`hosts[${i}].underlay ${JSON.stringify(h?.underlay)} is not valid: ${problem}`);
    if (familyOf(h.underlay) !== familyOf(args.hosts[0]!.underlay)) fail(`hosts[${i}].underlay ${h.underlay} is not valid: it is not of hosts[0]'s family (${args.hosts[0]!.underlay}); the tunnels' addresses are all IPv4 or all IPv6`);
    const key = hostKey(h.host);
    if (keys.has(key)) fail(`hosts[${i}] is not valid: ${h.host ? `host ${hostLabel(h.host)}` : "the provider's machine (no host)"} is given twice; give each host once`);
    keys.add(key);
    if (args.hosts.slice(0, i).some((o) => o.underlay === h.underlay)) fail(`hosts[${i}].underlay ${h.underlay} is not valid: another host has it; give each host its own underlay address`);
  }
  const vni = args.vni ?? 1 + (parseInt(shortHash([pulumi.getProject(), pulumi.getStack(), name], 6), 16) % 16777215);
  if (!Number.isInteger(vni) || vni < 1 || vni > 16777215) fail(`vni ${vni} is not valid: use an integer from 1 to 16777215 (24 bits; 0 is reserved), the same for no other segment on these hosts`);
  return vni;
}

/** A host in a resource name: its address, and `:port` when given (`lan-10.250.0.2-bridge`); "local" for the provider's machine. */
const siteName = (host: Host | undefined) => (host ? `${host.address}${host.port ? `:${host.port}` : ""}` : "local");

export class Segment extends pulumi.ComponentResource {
  /** The bridge (child `<name>-bridge`); with `hosts`, the first host's (child `<name>-<host>-bridge`). */
  readonly bridge: Bridge;
  /** With `hosts`: the bridge on each host, in the order of `hosts`. */
  readonly bridges: Bridge[] = [];
  /** With `hosts`: the Vxlan on each host (child `<name>-<host>-vxlan`), in the order of `hosts`. */
  readonly tunnels: Vxlan[] = [];
  /** The subnet, as given. */
  readonly subnet: string;
  /** The subnet's prefix length. */
  readonly prefixLength: number;
  /** The gateway's address, without prefix length; undefined when the segment has none. */
  readonly gateway?: string;
  /** Who holds the gateway address: an Address on the bridge, or a Router. */
  readonly gatewayOn: "bridge" | "router";
  /** The gateway Address on the bridge (child `<name>-gateway`), when `gatewayOn` is `"bridge"`. */
  readonly gatewayAddress?: Address;
  /** The forwarding Sysctl of the bridge's namespace (child `<name>-forwarding`), with `nat`. */
  readonly forwarding?: Sysctl;
  /** The MASQUERADE rule (child `<name>-nat`), with `nat`. */
  readonly nat?: NatRule;

  constructor(name: string, args: SegmentArgs, opts?: pulumi.ComponentResourceOptions) {
    // Every check before super(): a bad segment registers nothing.
    const plan = planSubnet(name, args.subnet, args.gateway);
    const gatewayOn = args.gatewayOn ?? "bridge";
    if (gatewayOn !== "bridge" && gatewayOn !== "router") {
      throw new Error(`Segment "${name}": gatewayOn ${JSON.stringify(gatewayOn)} is not valid: use "bridge" or "router"`);
    }
    if (args.nat && (plan.subnet.family !== 4 || !plan.gateway || gatewayOn !== "bridge")) {
      throw new Error(
        `Segment "${name}": nat true is not valid with ${plan.subnet.family !== 4 ? `the IPv6 subnet ${args.subnet}` : !plan.gateway ? "no gateway" : `gatewayOn "router"`}: ` +
          `NAT needs an IPv4 subnet and a gateway on the bridge; set gateway (true or an address) and leave gatewayOn "bridge" (behind a Router, give the Router an uplink and nat: true)`,
      );
    }
    const vni = checkHosts(name, args);
    super("nslab:index:Segment", name, {}, opts);
    placeOn(this, hostOf(args.host, opts));
    setSegmentInternals(this, { name, netns: args.netns, plan, taken: new Map() });
    this.subnet = args.subnet;
    this.prefixLength = plan.subnet.prefix;
    this.gateway = plan.gateway;
    this.gatewayOn = gatewayOn;

    const child = { parent: this };
    // Spanning hosts: a bridge and a Vxlan on each, every port at the tunnel's MTU (a bridge
    // drops a frame larger than the port it leaves by); the gateway and NAT on the first host.
    const hosts = args.hosts ?? [];
    const mtu = hosts.length ? (args.mtu ?? tunnelMtu(hosts[0]!.underlay)) : args.mtu;
    for (const [i, h] of hosts.entries()) {
      const [at, host] = [`${name}-${siteName(h.host)}`, h.host];
      const bridge = new Bridge(`${at}-bridge`, { name: args.bridgeName, netns: args.netns, mtu, stp: args.stp, host }, child);
      const remote = hosts.filter((_, j) => j !== i).map((o) => o.underlay);
      this.tunnels.push(new Vxlan(`${at}-vxlan`, { vni: vni!, remote, local: h.underlay, netns: args.netns, master: bridge, mtu, host }, child));
      this.bridges.push(bridge);
    }
    if (hosts.length) spans.set(this, { sites: hosts.map((h, i) => ({ host: h.host, bridge: this.bridges[i]! })), mtu: mtu! });
    this.bridge = this.bridges[0] ?? new Bridge(`${name}-bridge`, { name: args.bridgeName, netns: args.netns, mtu: args.mtu, stp: args.stp }, child);
    const homeHost = hosts[0]?.host;
    if (plan.gateway && gatewayOn === "bridge") {
      this.gatewayAddress = new Address(`${name}-gateway`, { device: this.bridge, address: `${plan.gateway}/${plan.subnet.prefix}`, host: homeHost }, child);
    }
    if (args.nat) {
      this.forwarding = new Sysctl(`${name}-forwarding`, { key: "net.ipv4.ip_forward", value: 1, netns: args.netns, host: homeHost }, child);
      this.nat = new NatRule(`${name}-nat`, { source: args.subnet, notOutInterface: this.bridge.name, netns: args.netns, host: homeHost }, child);
    }
    this.registerOutputs({ bridge: this.bridge.name, subnet: this.subnet, gateway: this.gateway });
  }

  /**
   * Attaches a namespace: a component `<segment>-<name>` with a veth pair into the namespace, an
   * address from the subnet and a default route via the gateway.
   */
  attach(name: string, args: Omit<AttachmentArgs, "segment">, opts?: pulumi.ComponentResourceOptions): Attachment {
    return new Attachment(`${segmentInternals(this).name}-${name}`, { ...args, segment: this }, opts);
  }
}

/**
 * A namespace attached to a Segment: a veth pair whose end in the namespace (`ifname`) has an
 * address from the subnet and, when the segment has a gateway, a default route via it; the other
 * end joins the segment's bridge. Usually made by `segment.attach(name, args)`, which names it
 * `<segment>-<name>`.
 *
 * Equivalent to: `ip link add <hostIfname> master <bridge> type veth peer name <ifname> netns <netns>;
 * ip -n <netns> addr add <address>/<prefix> dev <ifname>; ip -n <netns> route add default via <gateway>`.
 */
export interface AttachmentArgs extends HostArgs {
  /** The segment to attach to (`segment.attach` sets it). */
  readonly segment: Segment;
  /** The namespace to attach: a Netns resource or a namespace name. */
  readonly netns: NetnsRef;
  /**
   * The address in the namespace, canonical and without prefix length (the segment's prefix
   * length is used): a host address of the subnet, not the gateway, not another attachment's.
   *
   * @default - derived from a hash of the attachment's name: the name's slot in the subnet, or the
   * next free address after it when the gateway or an attachment declared earlier holds it. So
   * adding an attachment after the others never renumbers them, and reordering renumbers only
   * attachments whose slots collide.
   */
  readonly address?: string;
  /**
   * Interface name inside the namespace (1-15 characters). Changing it replaces the veth pair.
   *
   * @default "eth0"
   */
  readonly ifname?: pulumi.Input<string>;
  /**
   * Interface name of the end that joins the bridge, in the bridge's namespace. Changing it
   * replaces the veth pair.
   *
   * @default - `<name>-veth` plus a short hash of the project and stack, cut to 15 characters
   */
  readonly hostIfname?: pulumi.Input<string>;
  /**
   * Whether to add a default route via the segment's gateway.
   *
   * @default - true when the segment has a gateway
   */
  readonly defaultRoute?: boolean;
  /**
   * MAC address of the interface inside the namespace, canonical lower-case unicast. Changed in
   * place.
   *
   * @default - not managed (a random address chosen by the kernel)
   */
  readonly mac?: pulumi.Input<string>;
  /**
   * Rate, delay and loss of the link, the same both ways (as Mininet's TCLink): a TrafficControl
   * on each end of the veth pair, `<name>-shaping-in` on the bridge's end (what enters the
   * namespace) and `<name>-shaping-out` on the namespace's end (what leaves it).
   *
   * @default - not shaped
   */
  readonly shaping?: LinkShaping;
}

export class Attachment extends pulumi.ComponentResource {
  /** The segment it is attached to. */
  readonly segment: Segment;
  /** Its address, without prefix length (known when the program runs). */
  readonly address: string;
  /** Its address with the segment's prefix length, e.g. `10.0.0.7/24`. */
  readonly cidr: string;
  /** Interface name inside the namespace. */
  readonly interface: pulumi.Output<string>;
  /** Name of the namespace. */
  readonly netns: pulumi.Output<string>;
  /** The veth pair (child `<name>-veth`): the first end on the bridge, the peer in the namespace. */
  readonly veth: VethPair;
  /** The Address in the namespace (child `<name>-address`). */
  readonly addressResource: Address;
  /** The default route via the gateway (child `<name>-route`), when there is one. */
  readonly route?: Route;
  private readonly resourceName: string;

  constructor(name: string, args: AttachmentArgs, opts?: pulumi.ComponentResourceOptions) {
    const seg = segmentInternals(args.segment);
    const address = allocate(seg.plan, seg.taken, name, args.address);
    const defaultRoute = args.defaultRoute ?? seg.plan.gateway !== undefined;
    if (defaultRoute && !seg.plan.gateway) {
      throw new Error(`Attachment "${name}": defaultRoute true is not valid: segment "${seg.name}" has no gateway; give the segment a gateway, or leave defaultRoute unset`);
    }
    const site = siteOf(name, args, seg.name);
    super("nslab:index:Attachment", name, {}, { ...opts, parent: opts?.parent ?? args.segment });
    placeOn(this, site.host);
    seg.taken.set(address, name);
    this.resourceName = name;
    this.segment = args.segment;
    this.address = address;
    this.cidr = `${address}/${seg.plan.subnet.prefix}`;

    const child = { parent: this };
    this.veth = new VethPair(
      `${name}-veth`,
      { name: args.hostIfname, netns: seg.netns, master: site.bridge, peerName: args.ifname ?? "eth0", peerNetns: args.netns, peerMac: args.mac, mtu: spans.get(args.segment)?.mtu },
      child,
    );
    this.addressResource = new Address(`${name}-address`, { device: this.veth.peer, address: this.cidr }, child);
    if (defaultRoute) {
      this.route = new Route(`${name}-route`, { destination: "default", via: seg.plan.gateway, device: this.veth.peer }, { parent: this, dependsOn: [this.addressResource] });
    }
    if (args.shaping) {
      new TrafficControl(`${name}-shaping-in`, { ...args.shaping, device: this.veth }, child);
      new TrafficControl(`${name}-shaping-out`, { ...args.shaping, device: this.veth.peer }, child);
    }
    this.interface = this.veth.peerName;
    this.netns = pulumi.output(netnsName(args.netns)!);
    this.registerOutputs({ address: this.address, cidr: this.cidr, interface: this.interface, netns: this.netns });
  }

  /**
   * Publishes a port of this namespace on the host side (a PublishedPort named
   * `<name>-<protocol><hostPort>`, e.g. `lan-web-tcp8080`).
   */
  publish(args: Omit<PublishedPortArgs, "attachment">, opts?: pulumi.ComponentResourceOptions): PublishedPort {
    const name = `${this.resourceName}-${args.protocol ?? "tcp"}${args.hostPort ?? args.port}`;
    return new PublishedPort(name, { ...args, attachment: this }, opts);
  }
}

/**
 * Where an attachment goes: its host's bridge of a spanning segment (its `host`, else the
 * provider's machine, must be one of the segment's hosts); on a segment on one host, that host.
 */
function siteOf(name: string, args: AttachmentArgs, segment: string): Site {
  const span = spans.get(args.segment);
  if (!span) {
    const host = hostOf(undefined, { parent: args.segment });
    if (args.host && hostKey(args.host) !== hostKey(host)) {
      throw new Error(
        `Attachment "${name}": host ${hostLabel(args.host)} is not valid: segment "${segment}" is on ${host ? `host ${hostLabel(host)}` : "the provider's machine"} only; ` +
          `attach on that host, or give the segment hosts (each { host, underlay }) to span several`,
      );
    }
    return { host, bridge: args.segment.bridge };
  }
  const site = span.sites.find((s) => hostKey(s.host) === hostKey(args.host));
  if (site) return site;
  const hosts = span.sites.map((s) => (s.host ? hostLabel(s.host) : "the provider's machine (no host)")).join(", ");
  throw new Error(`Attachment "${name}": ${args.host ? `host ${hostLabel(args.host)}` : "the provider's machine (no host)"} is not valid: segment "${segment}" spans ${hosts}; give one of them as host, or add this host to the segment's hosts`);
}
