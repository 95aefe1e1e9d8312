import type * as pulumi from "@pulumi/pulumi";
import { contains, familyOf, parseCidr, parseIp } from "./cidr";
import { known } from "./check";
import { hostKey, type Host } from "./host";
import type { Kind } from "./kind";
import { ownerHash, resourceName, type Owner } from "./owner";

// Conflicts between the resources of one program, found at Check, before anything is created
// (docs/design.md, "Validate before touching the kernel").
// Why in the provider's check: one dynamic-provider host process serves every Check of a run,
// under the nslab engine and the Pulumi CLI alike, and sees each value once it is known (the SDK
// in the program process sees every registration too, but as Outputs, and its errors cannot name
// a property). A resource's Check comes after the Checks of the resources it refers to (its
// inputs and dependsOn wait for them), so a referent a dependent needs is always declared by then;
// two resources claiming the same kernel object are caught by whichever is checked second, which
// names the other. Declarations are keyed by owner, so a resource checked twice (a preview then
// an up, or a replacement) never conflicts with itself. What exists outside the program comes from
// the caller's view of the kernel (provider/index.ts), so this module stays free of effects.

/** What the checks need to know of the kernel, beyond the program: objects made outside it. */
export interface KernelView {
  netnsExists(name: string): boolean;
  /** Whether the host namespace (the provider's own) has a link of that name. */
  hostLinkExists(name: string): boolean;
}

type Inputs = Record<string, unknown> & { owner?: Owner };

/** A link a resource makes: one per end (a VethPair has two). */
interface Link {
  netns: string;
  name: string;
  kind: "veth" | "bridge" | "vxlan";
  down: boolean;
}

/** What one resource declares: the kernel objects it claims, and the facts dependents look up. */
interface Declaration {
  who: string;
  hash: string;
  /** Exclusive kernel objects ("link:ns/name" ...), with the value only a same-valued twin may share (Sysctl). */
  claims: Map<string, string | undefined>;
  link?: Link[];
  address?: { netns: string; device: string; cidr: string };
  forward?: { netns: string; protocol: string; port: number; hostAddress?: string; inInterface?: string };
}

/**
 * Declarations by key. Each key's declarations keep the order they were added in, which is the
 * order they were checked: a declaration is added whole when checked and removed whole when its
 * resource is checked again. The first one a message names is thus the earliest checked.
 */
class Index {
  private readonly sets = new Map<string, Set<Declaration>>();

  get(key: string): ReadonlySet<Declaration> {
    return this.sets.get(key) ?? NONE;
  }

  add(key: string, d: Declaration): void {
    const set = this.sets.get(key);
    if (set) set.add(d);
    else this.sets.set(key, new Set([d]));
  }

  delete(key: string, d: Declaration): void {
    const set = this.sets.get(key);
    if (set?.delete(d) && set.size === 0) this.sets.delete(key);
  }
}
const NONE: ReadonlySet<Declaration> = new Set();

/**
 * The declarations of one program, indexed by what the checks of a later resource look up, so that
 * each check costs the same however many resources came before it (a star lab has thousands).
 */
class Program {
  /** By owner, in the order checked: a resource checked again (a preview then an up, a replacement) replaces its own. */
  readonly byOwner = new Map<string, Declaration>();
  /** By claim: two holders are a conflict, unless same-valued twins. A Netns claims its name, a link its namespace and name. */
  readonly claims = new Index();
  /** By link name, in any namespace: where a device (any link) or a master (a bridge) of that name is made, when not here. */
  readonly links = new Index();
  readonly bridges = new Index();
  /** By namespace: the addresses a gateway must be covered by. */
  readonly addresses = new Index();
  /** By namespace, protocol and port: the forwards that may match the same traffic. */
  readonly forwards = new Index();

  add(me: string, d: Declaration): void {
    this.byOwner.set(me, d);
    this.index(d, (index, key) => index.add(key, d));
  }

  remove(me: string): void {
    const d = this.byOwner.get(me);
    if (!d) return;
    this.byOwner.delete(me);
    this.index(d, (index, key) => index.delete(key, d));
  }

  /** Calls `to` with each index and key that `d` is found under. */
  private index(d: Declaration, to: (index: Index, key: string) => void): void {
    for (const key of d.claims.keys()) to(this.claims, key);
    for (const l of d.link ?? []) {
      to(this.links, l.name);
      if (l.kind === "bridge") to(this.bridges, l.name);
    }
    if (d.address) to(this.addresses, d.address.netns);
    if (d.forward) to(this.forwards, forwardKey(d.forward));
  }
}

const forwardKey = (f: NonNullable<Declaration["forward"]>) => `${f.netns}/${f.protocol}/${f.port}`;

/** Each program (project and stack) on each host: only resources of one program on one host conflict. */
const programs = new Map<string, Program>();
/** The program being checked (a provider host serves one program; tests check several). */
let program = new Program();

const ns = (v: unknown) => (typeof v === "string" ? v : "");
const where = (n: string) => (n ? `namespace "${n}"` : "the host namespace");
const str = (v: unknown): string | undefined => (known(v) && typeof v === "string" ? v : undefined);

/** Who a resource is, in messages: `Address "red-ip"`. */
function whoOf(kind: string, owner: Owner): string {
  return `${kind} "${resourceName(owner)}"`;
}

/**
 * The resource of this program whose owner hash starts with `prefix` (a mark may hold only a
 * prefix), for create-time messages: a scan, as only a create that finds a marked object asks.
 */
export function declaredByHash(prefix: string): string | undefined {
  if (prefix.length < 2) return undefined;
  for (const d of program.byOwner.values()) if (d.hash.startsWith(prefix)) return d.who;
  return undefined;
}

/**
 * Who made an existing object that carries nslab's mark for another owner, and what to do, for a
 * create that finds it: never to delete it by hand, since it may be this stack's own (a resource
 * renamed, whose old self this run deletes only after creating the new one).
 */
export function markedFor(hash: string | undefined): string {
  const other = hash === undefined ? undefined : declaredByHash(hash);
  if (other) return `made by nslab for ${other} of this program. Two resources cannot make the same kernel object: drop one of them, or change this one.`;
  return (
    `made by nslab for another resource. If that resource is this stack's and this run deletes it (a renamed resource), keep it one resource: ` +
    `add aliases: [{ name: "<its old name>" }] to the renamed one. If it is another stack's, remove it there, or set adopt: true to take it over.`
  );
}

/** The failures of `inputs` against every resource checked before it, and records its declaration. */
export function conflicts(kind: Kind, inputs: Inputs, kernel: KernelView): pulumi.dynamic.CheckFailure[] {
  const owner = inputs.owner;
  if (!owner || !Array.isArray(owner.path)) return [];
  // Two hosts may hold objects of the same names: each host's declarations are apart.
  const key = `${owner.project}/${owner.stack}/${hostKey(inputs.host as Host | undefined)}`;
  program = programs.get(key) ?? new Program();
  programs.set(key, program);
  const me = `${kind}:${owner.path.join("/")}`;
  const d: Declaration = { who: whoOf(kind, owner), hash: ownerHash(owner), claims: new Map() };
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, why: string) => {
    // As validate() words it: the engine prints the resource and the property before the reason.
    if (!failures.some((f) => f.property === property)) failures.push({ property, reason: `${JSON.stringify(inputs[property])} is not valid: ${why}` });
  };
  program.remove(me);
  describe(kind, inputs, d, fail, kernel);

  for (const [claim, value] of d.claims) {
    for (const other of program.claims.get(claim)) {
      const shared = other.claims.get(claim);
      if (value !== undefined && shared === value) continue;
      const [property, what] = claimText(kind, claim, inputs, value, shared);
      fail(property, `${other.who} ${what}; ${kind === "Sysctl" ? "give both the same value, or drop one of them" : "two resources cannot make the same kernel object: drop one of them, or change this one"}`);
      break;
    }
  }
  if (d.forward) forwardConflicts(d.forward, fail);
  program.add(me, d);
  return failures;
}

function claimText(kind: string, key: string, inputs: Inputs, value: string | undefined, shared: string | undefined): [string, string] {
  if (kind === "Sysctl") return ["value", `holds ${inputs.key} in ${where(ns(inputs.netns))} at ${JSON.stringify(shared)}, not ${JSON.stringify(value)}`];
  const [type, rest] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
  if (type === "netns") return ["name", `also makes namespace "${rest}"`];
  if (type === "link") {
    const property = key === `link:${ns(inputs.peerNetns)}/${inputs.peerName}` && kind === "VethPair" ? "peerName" : "name";
    return [property, `also makes the link "${rest.slice(rest.indexOf("/") + 1)}" in ${where(rest.slice(0, rest.indexOf("/")))}`];
  }
  if (type === "vxlan") return ["vni", `also makes a vxlan link with vni ${inputs.vni} and dstPort ${inputs.dstPort} in ${where(ns(inputs.netns))}, and the kernel allows one per VNI and port (one link reaches every remote in its list)`];
  if (type === "addr") return ["address", `also adds ${inputs.address} to "${inputs.device}" in ${where(ns(inputs.netns))}`];
  return ["destination", `also makes the route to ${inputs.destination} (table ${inputs.table ?? "main"}, metric ${inputs.metric ?? "default"}) in ${where(ns(inputs.netns))}`];
}

/** Two PortForwards of a namespace that match the same traffic: same protocol and port, overlapping address and interface. */
function forwardConflicts(f: NonNullable<Declaration["forward"]>, fail: (property: string, why: string) => void): void {
  const overlap = (a: string | undefined, b: string | undefined) => a === undefined || b === undefined || a === b;
  for (const other of program.forwards.get(forwardKey(f))) {
    const o = other.forward!;
    if (!overlap(o.hostAddress, f.hostAddress) || !overlap(o.inInterface, f.inInterface)) continue;
    fail("hostPort", `${other.who} also forwards ${f.protocol} port ${f.port}${o.hostAddress ? ` of ${o.hostAddress}` : ""} in ${where(f.netns)}; traffic can be forwarded to one place only: give one of them another hostPort (or hostAddress), or drop it`);
    return;
  }
}

/** Fills `d` with what `inputs` claims and declares, and reports the referents it lacks. */
function describe(kind: Kind, i: Inputs, d: Declaration, fail: (property: string, why: string) => void, kernel: KernelView): void {
  const netnsOf = (property: string): string | undefined => {
    const v = i[property];
    if (v === undefined) return "";
    const name = str(v);
    if (name !== undefined && !programMakes(name) && !kernel.netnsExists(name)) {
      fail(property, `no Netns checked before this resource makes namespace "${name}", and it does not exist. Pass the Netns resource itself as ${property} (or add it to dependsOn), so that it is made first; or correct the name`);
    }
    return name;
  };
  switch (kind) {
    case "Netns": {
      const name = str(i.name);
      if (name !== undefined) d.claims.set(`netns:${name}`, undefined);
      return;
    }
    case "Bridge":
    case "Vxlan":
    case "VethPair": {
      const ends = kind !== "VethPair" ? [["netns", "name", "master"]] : [["netns", "name", "master"], ["peerNetns", "peerName", "peerMaster"]];
      d.link = [];
      for (const [netnsKey, nameKey, masterKey] of ends as [string, string, string][]) {
        const n = netnsOf(netnsKey);
        const name = str(i[nameKey]);
        if (n === undefined || name === undefined) continue;
        d.link.push({ netns: n, name, kind: kind === "Bridge" ? "bridge" : kind === "Vxlan" ? "vxlan" : "veth", down: i.up === false });
        d.claims.set(`link:${n}/${name}`, undefined);
        const master = str(i[masterKey]);
        if (kind !== "Bridge" && master !== undefined) linkElsewhere(masterKey, master, n, "bridge", fail, kernel);
        if (kind === "Vxlan" && known(i.vni) && known(i.dstPort)) d.claims.set(`vxlan:${n}/${i.vni}/${i.dstPort}`, undefined);
      }
      return;
    }
    case "Address": {
      const n = netnsOf("netns");
      const device = str(i.device);
      const cidr = str(i.address);
      if (n === undefined || device === undefined) return;
      linkElsewhere("device", device, n, undefined, fail, kernel);
      if (cidr === undefined || !parseCidr(cidr)) return;
      d.address = { netns: n, device, cidr };
      // IPv6 holds an address once per device whatever the prefix; IPv4 once per prefix length.
      d.claims.set(`addr:${n}/${device}/${familyOf(cidr) === 6 ? cidr.split("/")[0] : cidr}`, undefined);
      return;
    }
    case "Route": {
      const n = netnsOf("netns");
      const device = str(i.device);
      if (n === undefined) return;
      if (device !== undefined) {
        linkElsewhere("device", device, n, undefined, fail, kernel);
        linkDown(device, n, fail);
      }
      const destination = str(i.destination);
      const via = str(i.via);
      if (destination === undefined || (i.via !== undefined && via === undefined) || !known(i.metric ?? 0) || !known(i.table ?? "main")) return;
      const family = destination !== "default" ? familyOf(destination) : via !== undefined ? familyOf(via) : 4;
      const dest = destination === "default" ? (family === 6 ? "::/0" : "0.0.0.0/0") : destination;
      d.claims.set(`route:${n}/${i.table ?? "main"}/${dest}/${i.metric ?? (family === 6 ? 1024 : 0)}`, undefined);
      if (via !== undefined) gatewayUncovered(n, device, via, fail);
      return;
    }
    case "Sysctl": {
      const n = netnsOf("netns");
      const key = str(i.key);
      if (n !== undefined && key !== undefined && known(i.value)) d.claims.set(`sysctl:${n}/${key}`, String(i.value).trim().replace(/\s+/g, " "));
      return;
    }
    case "PortForward": {
      const n = netnsOf("netns");
      const port = i.hostPort;
      const protocol = str(i.protocol ?? "tcp");
      if (n === undefined || typeof port !== "number" || protocol === undefined) return;
      if ((i.hostAddress !== undefined && str(i.hostAddress) === undefined) || (i.inInterface !== undefined && str(i.inInterface) === undefined)) return;
      d.forward = { netns: n, protocol, port, hostAddress: str(i.hostAddress), inInterface: str(i.inInterface) };
      return;
    }
    default:
      netnsOf("netns");
  }
}

/** Whether a resource checked so far makes namespace `name` (then nothing but the program is in it). */
function programMakes(name: string): boolean {
  return program.claims.get(`netns:${name}`).size > 0;
}

/** The links named `name` in `netns` the program makes, each with its maker, in the order checked. */
function linksAt(netns: string, name: string): [Declaration, Link][] {
  const found: [Declaration, Link][] = [];
  for (const d of program.claims.get(`link:${netns}/${name}`)) {
    for (const l of d.link!) if (l.netns === netns && l.name === name) found.push([d, l]);
  }
  return found;
}

/**
 * A link named in `property` that this program makes only in other namespaces, while the one this
 * resource is in is the program's own (or the host, where /sys/class/net shows its links).
 */
function linkElsewhere(property: string, name: string, netns: string, kind: "bridge" | undefined, fail: (property: string, why: string) => void, kernel: KernelView): void {
  if (linksAt(netns, name).some(([, l]) => !kind || l.kind === kind)) return;
  const [maker] = (kind === "bridge" ? program.bridges : program.links).get(name);
  if (!maker) return;
  const elsewhere = { who: maker.who, netns: maker.link!.find((l) => l.name === name)!.netns };
  const here = netns === "" ? kernel.hostLinkExists(name) : !programMakes(netns);
  if (here) return;
  fail(
    property,
    `${elsewhere.who} makes "${name}" in ${where(elsewhere.netns)}, but this resource is in ${where(netns)}, where no ${kind ?? "link"} of that name is made before it; ` +
      `a ${kind ?? "link"} is used only in its own namespace. Pass the ${kind === "bridge" ? "Bridge" : "VethPair or Bridge"} resource itself as ${property}, which carries its namespace and orders the two`,
  );
}

/** A route through a link the program declares down: the kernel refuses it, and flushes it when the link goes down. */
function linkDown(name: string, netns: string, fail: (property: string, why: string) => void): void {
  const [maker] = linksAt(netns, name).find(([, l]) => l.down) ?? [];
  if (maker) fail("device", `${maker.who} makes "${name}" in ${where(netns)} down (up: false), and a link that is down has no routes: set up: true on it, or drop this route`);
}

/** A gateway in a namespace of the program's own that no Address checked before the route covers (on its device, when given). */
function gatewayUncovered(netns: string, device: string | undefined, via: string, fail: (property: string, why: string) => void): void {
  const gw = parseIp(via);
  if (!gw || netns === "" || !programMakes(netns)) return;
  for (const d of program.addresses.get(netns)) {
    const a = d.address!;
    if ((device === undefined || a.device === device) && contains(parseCidr(a.cidr)!, gw)) return;
  }
  fail(
    "via",
    `no Address declared before this route covers gateway ${via}${device ? ` on "${device}"` : ""} in ${where(netns)}, so the kernel would refuse it. ` +
      `Add an Address whose prefix covers ${via}${device ? ` to "${device}"` : ""} and declare it before the route (or add it to the route's dependsOn)`,
  );
}
