import { derivedName } from "../provider/lib/names";
import { contains, parseCidr, parseIp, type Ip } from "../provider/lib/cidr";
import type { Owner } from "../provider/lib/owner";
import { MARK, shown } from "./output";
import type { ResourceState } from "./state";
import type { Op } from "./steps";
import { fromState, type Props } from "./values";

// `nslab graph`: a picture of a lab drawn from its resources (the state, or the plan of a
// preview): namespaces as boxes (grouped by host when the lab spans hosts), bridges as switches,
// interfaces with their addresses and routes, veth pairs as links, VXLAN tunnels as links between
// their ends, NAT and port forwards as labelled arrows, processes in their namespace,
// traffic control on the link it shapes, and per namespace its filter
// policy: each Router's in a few words, then the FirewallRules of no Router in chain order
// (sysctls other than forwarding are left out). Namespaces, bridges and veths whose kernel name
// nslab derived (the resource name plus a hash) are labelled with the resource name. labGraph
// builds a small model; toMermaid and toDot print it. Everything is sorted, so the same lab
// always prints the same text.

const KIND = "pulumi-nodejs:dynamic/nslab:";

/** What a preview does to an element; undefined: nothing. */
export type Change = Exclude<Op, "same">;

/** A line of an interface's label (an address, a route). */
export interface Line {
  text: string;
  change?: Change;
}

export interface Device {
  id: string;
  /** Kernel name, or the resource name when nslab derived the kernel name from it. */
  name: string;
  /** "device": an interface the lab does not make (named by an Address, a Route or a rule); "process": a Process. */
  kind: "bridge" | "veth" | "vxlan" | "device" | "process";
  addresses: Line[];
  routes: Line[];
  change?: Change;
}

export interface Namespace {
  id: string;
  /** Kernel name; "" for the host's namespace. */
  name: string;
  /** The host it is on (its address, and `:port` when one is given); "" for the machine nslab runs on. */
  host: string;
  /** What the graph calls it: the resource name when nslab derived the kernel name from it. */
  label: string;
  /** A Sysctl sets net.ipv4.ip_forward=1 here. */
  forwarding: boolean;
  /** The filter policy: per Router "router <name>" and its policy, then the other FirewallRules in chain order. */
  policy: Line[];
  devices: Device[];
  change?: Change;
}

/** A node outside every namespace: "outside", or an address no interface of the lab holds. */
export interface External {
  id: string;
  label: string;
}

export interface Edge {
  from: string;
  to: string;
  label: string;
  /** NAT and port forwards point the way the traffic goes; a veth has no direction. */
  directed: boolean;
  change?: Change;
}

export interface LabGraph {
  namespaces: Namespace[];
  external: External[];
  edges: Edge[];
}

/** An interface while the graph is built: keyed by "<place>/<kernel name>". */
type Node = Omit<Device, "id"> & { key: string; place: string };

interface Resource {
  name: string;
  urn: string;
  /** Where the value of a namespace key is: "<host>\n<namespace>" (hostOf; "" for the local machine, the host's namespace). */
  place(key?: string): string;
  parent?: string;
  change?: Change;
  get(key: string): string | undefined;
  /** A value as state holds it (a list, an object). */
  raw(key: string): unknown;
}

const OUTSIDE = "outside";
const KINDS = ["Netns", "Bridge", "VethPair", "Vxlan", "Address", "Route", "Sysctl", "NatRule", "PortForward", "FirewallRule", "Process", "TrafficControl"];
const ROUTER = "nslab:index:Router";
/** The maximum lengths nslab derives kernel names for (sdk/internal/common.ts defaultName): links, namespaces. */
const DERIVED_LENGTHS = [15, 64];

/**
 * The name to draw for a kernel name: the resource's name when the kernel name is the one nslab
 * derived from it (resource name plus a hash of project, stack and parents), else the kernel name.
 */
export function shownName(kernel: string, resourceName: string, owner: unknown): string {
  const o = owner as Owner | undefined;
  if (!o || !Array.isArray(o.path) || o.path.length === 0) return kernel;
  const salt = [o.project, o.stack, ...o.path.slice(0, -1)];
  return DERIVED_LENGTHS.some((max) => derivedName(o.path[o.path.length - 1]!, salt, max) === kernel) ? resourceName : kernel;
}

/** A resource's host as the graph names it: its address, and `:port` when one is given; "" without a host. */
export function hostOf(host: unknown): string {
  const h = host as { address?: unknown; port?: unknown } | undefined;
  if (!h || typeof h !== "object" || typeof h.address !== "string") return "";
  return h.port === undefined ? h.address : `${h.address}:${h.port}`;
}

/**
 * The graph of a lab's resources (state or wire form; components other than Routers, whose
 * policy is drawn, and pending deletes are left out). `changes` (a preview's step op by URN) marks what the plan adds, changes and removes.
 */
export function labGraph(resources: readonly ResourceState[], changes?: Readonly<Record<string, Op>>): LabGraph {
  const byKind = new Map<string, Resource[]>([...KINDS, ROUTER].map((k) => [k, []]));
  for (const r of resources) {
    const kind = r.custom && r.type.startsWith(KIND) ? r.type.slice(KIND.length) : r.type;
    if (r.delete || !byKind.has(kind)) continue;
    const values: Props = { ...fromState(r.inputs), ...fromState(r.outputs) };
    const op = changes?.[r.urn];
    const host = hostOf(values.host);
    byKind.get(kind)!.push({
      name: r.urn.split("::").pop()!,
      urn: r.urn,
      place: (key = "netns") => `${host}\n${values[key] === undefined || values[key] === null ? "" : String(shown(values[key]!))}`,
      ...(r.parent ? { parent: r.parent } : {}),
      ...(op && op !== "same" ? { change: op } : {}),
      get: (key) => {
        const v = values[key] === undefined || values[key] === null ? undefined : shown(values[key]!);
        return Array.isArray(v) ? v.join(" ") : v === undefined ? undefined : String(v);
      },
      raw: (key) => values[key],
    });
  }
  const of = (kind: string) => byKind.get(kind)!.sort((a, b) => order(a.name, b.name));

  const namespaces = new Map<string, Omit<Namespace, "id" | "devices">>();
  /** The namespace at a place ("<host>\n<name>"), made on first mention. */
  const namespace = (place: string) => {
    const [host = "", name = ""] = place.split("\n");
    return namespaces.get(place) ?? namespaces.set(place, { name, host, label: name, forwarding: false, policy: [] }).get(place)!;
  };
  const devices = new Map<string, Node>();
  /** The interface `name` at a place, made on first mention. */
  const device = (place: string, name: string, kind: Device["kind"] = "device"): Node => {
    namespace(place);
    const key = `${place}/${name}`;
    return devices.get(key) ?? devices.set(key, { key, name, kind, place, addresses: [], routes: [] }).get(key)!;
  };
  /** Names a device by its resource when nslab derived its kernel name from it. */
  const named = (d: Node, r: Resource, kernel: string) => Object.assign(d, { name: shownName(kernel, r.name, r.raw("owner")) });
  /** The first interface at a place (undefined: anywhere) with an address that passes `test`. */
  const holder = (test: (address: string) => boolean, place?: string) =>
    [...devices.values()].find((d) => (place === undefined || d.place === place) && d.addresses.some((a) => test(a.text)))?.key;
  const within = (x: Ip) => (address: string) => {
    const c = parseCidr(address);
    return c !== undefined && contains(c, x);
  };
  const at = (ip: string) => (address: string) => address.split("/")[0] === ip;
  const externals = new Set<string>();
  const external = (label: string) => (externals.add(label), `x:${label}`);
  const edges: Edge[] = [];
  const changed = (r: Resource) => (r.change ? { change: r.change } : {});
  /** The veth edge of each end ("<netns>/<name>"), where its traffic control is drawn. */
  const linkOf = new Map<string, Edge>();

  for (const r of of("Netns")) {
    const name = r.get("name");
    Object.assign(namespace(r.place("name")), { label: name === undefined ? r.name : shownName(name, r.name, r.raw("owner")) }, changed(r));
  }
  for (const r of of("Bridge")) {
    const name = r.get("name") ?? r.name;
    Object.assign(named(device(r.place(), name, "bridge"), r, name), changed(r));
  }
  for (const r of of("VethPair")) {
    const ends = [
      { name: r.get("name") ?? r.name, place: r.place(), master: r.get("master") },
      { name: r.get("peerName") ?? "?", place: r.place("peerNetns"), master: r.get("peerMaster") },
    ];
    // An end in a bridge is drawn as the bridge; the link carries the pair's resource name.
    const [a, b] = ends.map((e, i) => {
      if (e.master) return device(e.place, e.master, "bridge").key;
      const end = Object.assign(device(e.place, e.name, "veth"), changed(r));
      return (i === 0 ? named(end, r, e.name) : end).key;
    });
    const edge: Edge = { from: a!, to: b!, label: r.name, directed: false, ...changed(r) };
    for (const e of ends) linkOf.set(`${e.place}/${e.name}`, edge);
    edges.push(edge);
  }
  tunnels(of("Vxlan"), device, external, edges);
  for (const r of of("TrafficControl")) {
    const [place, dev = "?"] = [r.place(), r.get("device")];
    const shaping = ["rate", "delay", "jitter", "loss", "duplicate", "corrupt"].flatMap((k) => (r.get(k) ? [`${k} ${r.get(k)}`] : [])).join(" ");
    // On the veth it shapes (the end's egress), else on its interface.
    const edge = linkOf.get(`${place}/${dev}`);
    if (edge) edge.label += ` · ${marked(`${dev} → ${shaping}`, r.change)}`;
    else device(place, dev).routes.push({ text: `egress ${shaping}`, ...changed(r) });
  }
  for (const r of of("Process")) Object.assign(device(r.place(), `${r.name}: ${r.get("command") ?? "?"}`, "process"), changed(r));
  for (const r of of("Address")) device(r.place(), r.get("device") ?? "?").addresses.push({ text: r.get("address") ?? "?", ...changed(r) });
  for (const r of of("Route")) {
    const [place, dev, via] = [r.place(), r.get("device"), r.get("via")];
    const gateway = via === undefined ? undefined : parseIp(via);
    // Drawn on its device, else on the interface whose prefix holds the gateway.
    const on = dev ? device(place, dev) : gateway && devices.get(holder(within(gateway), place) ?? "");
    on?.routes.push({ text: `${r.get("destination")}${via ? ` via ${via}` : ""}`, ...changed(r) });
  }
  for (const r of of("Sysctl")) {
    if (["net.ipv4.ip_forward", "net/ipv4/ip_forward"].includes(r.get("key") ?? "") && r.get("value") === "1") namespace(r.place()).forwarding = true;
  }
  for (const r of of("NatRule")) {
    const [place, source, out, notOut, toSource] = [r.place(), r.get("source") ?? "?", r.get("outInterface"), r.get("notOutInterface"), r.get("toSource")];
    const prefix = parseCidr(source);
    // From the interface whose prefix holds the source, to the out interface or the outside.
    const from = (prefix && holder(within(prefix), place)) ?? external(source);
    const to = out ? device(place, out).key : external(OUTSIDE);
    const label = `${toSource ? `SNAT ${source} → ${toSource}` : `MASQUERADE ${source}`}${out ? ` -o ${out}` : notOut ? ` ! -o ${notOut}` : ""}`;
    edges.push({ from, to, label, directed: true, ...changed(r) });
  }
  for (const r of of("PortForward")) {
    const [place, hostAddress, hostPort, inInterface, toAddress] = [r.place(), r.get("hostAddress"), r.get("hostPort"), r.get("inInterface"), r.get("toAddress") ?? "?"];
    // From the interface holding the host address (or the in interface, or the outside) to the one holding the target.
    const from = (hostAddress && holder(at(hostAddress), place)) || (inInterface ? device(place, inInterface).key : external(OUTSIDE));
    const to = holder(at(toAddress)) ?? external(toAddress);
    const label = `DNAT ${r.get("protocol") ?? "tcp"} ${hostAddress ?? ""}:${hostPort} → ${toAddress}:${r.get("toPort") ?? hostPort}${inInterface ? ` -i ${inInterface}` : ""}`;
    edges.push({ from, to, label, directed: true, ...changed(r) });
  }

  // The filter: each Router's policy in a few words, then the FirewallRules no Router made, in chain order.
  const routers = new Set<string>();
  for (const r of of(ROUTER)) {
    routers.add(r.urn);
    const policy = r.raw("policy");
    if (!Array.isArray(policy) || policy.length === 0) continue;
    namespace(r.place()).policy.push(...[`router ${r.name}`, ...policy.map(String)].map((text) => ({ text, ...changed(r) })));
  }
  const CHAINS = ["input", "forward", "output"];
  const rank = (r: Resource) => `${CHAINS.indexOf(r.get("chain") ?? "forward")}${(r.get("priority") ?? "100").padStart(5, "0")}${r.name}`;
  for (const r of of("FirewallRule").sort((x, y) => order(rank(x), rank(y)))) {
    if (r.parent && routers.has(r.parent)) continue;
    namespace(r.place()).policy.push({ text: ruleText(r), ...changed(r) });
  }

  // Ids in print order: by host (the local machine first), then its own namespace first, then
  // namespaces by name; in each, bridges first, then by name.
  const ids = new Map<string, string>();
  const sortKey = (n: { name: string; kind?: string }) => `${n.kind === "bridge" || n.name === "" ? 0 : 1}${n.name}`;
  const graph: LabGraph = { namespaces: [], external: [], edges: [] };
  for (const [i, [at, ns]] of [...namespaces].sort(([, x], [, y]) => order(`${x.host}\n${sortKey(x)}`, `${y.host}\n${sortKey(y)}`)).entries()) {
    const inside = [...devices.values()].filter((d) => d.place === at).sort((x, y) => order(sortKey(x), sortKey(y)));
    const list = inside.map((d): Device => {
      const id = `d${ids.size}`;
      ids.set(d.key, id);
      // An interface whose addresses or routes change is changed itself.
      const change = d.change ?? ([...d.addresses, ...d.routes].some((l) => l.change) ? "update" : undefined);
      return { id, name: d.name, kind: d.kind, addresses: d.addresses, routes: d.routes, ...(change ? { change } : {}) };
    });
    graph.namespaces.push({ ...ns, id: `ns${i}`, devices: list });
  }
  for (const [i, label] of [...externals].sort((x, y) => order(x === OUTSIDE ? "" : x, y === OUTSIDE ? "" : y)).entries()) {
    ids.set(`x:${label}`, `x${i}`);
    graph.external.push({ id: `x${i}`, label });
  }
  graph.edges = edges.map((e) => ({ ...e, from: ids.get(e.from)!, to: ids.get(e.to)! }));
  return graph;
}

/**
 * The VXLAN tunnels: an undirected link between the two ends (each drawn as its bridge when it is
 * in one, as a veth end is) labelled `vxlan <vni>`, drawn once per pair; the peer of a remote is
 * the Vxlan of the same VNI and port whose local address, or else host address, is that remote.
 * A remote that no Vxlan of the lab answers to is drawn as an external node.
 */
function tunnels(
  vxlans: Resource[],
  device: (place: string, name: string, kind?: Device["kind"]) => Node,
  external: (label: string) => string,
  edges: Edge[],
): void {
  const ends = vxlans.map((r) => {
    const name = r.get("name") ?? r.name;
    const master = r.get("master");
    const place = r.place();
    const end = master ? device(place, master, "bridge") : Object.assign(device(place, name, "vxlan"), r.change ? { change: r.change } : {});
    const remotes = r.raw("remote");
    return { r, key: end.key, vni: r.get("vni"), port: r.get("dstPort"), at: r.get("local") ?? place.split("\n")[0]!.replace(/:\d+$/, ""), remotes: Array.isArray(remotes) ? remotes.map(String) : [] };
  });
  const drawn = new Set<string>();
  for (const e of ends) {
    for (const remote of e.remotes) {
      const peer = ends.find((o) => o !== e && o.vni === e.vni && o.port === e.port && o.at === remote);
      const pair = peer ? [e.r.urn, peer.r.urn].sort().join(" ") : `${e.r.urn} ${remote}`;
      if (drawn.has(pair)) continue;
      drawn.add(pair);
      const change = e.r.change ?? peer?.r.change;
      edges.push({ from: e.key, to: peer ? peer.key : external(remote), label: `vxlan ${e.vni ?? "?"}`, directed: false, ...(change ? { change } : {}) });
    }
  }
}

/** A FirewallRule in a few words: "drop forward 10.1.0.0/24 → 10.2.0.0/24 tcp/22 in eth0 (new)". */
function ruleText(r: Resource): string {
  const [source, destination, protocol, port, inIf, outIf] = ["source", "destination", "protocol", "destinationPort", "inInterface", "outInterface"].map((k) => r.get(k));
  const state = r.raw("state");
  return [
    `${r.get("action") ?? "?"} ${r.get("chain") ?? "forward"}`,
    ...(source || destination ? [`${source ?? "any"} → ${destination ?? "any"}`] : []),
    ...(protocol && protocol !== "all" ? [`${protocol}${port ? `/${port}` : ""}`] : []),
    ...(inIf ? [`in ${inIf}`] : []),
    ...(outIf ? [`out ${outIf}`] : []),
    ...(Array.isArray(state) && state.length ? [`(${state.join(",")})`] : []),
  ].join(" ");
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const CLASS: Record<Change, "added" | "changed" | "removed"> = { create: "added", update: "changed", replace: "changed", delete: "removed" };
const COLOR = { added: "#1a7f37", changed: "#9a6700", removed: "#cf222e" };
const FILL = { added: "#dafbe1", changed: "#fff8c5", removed: "#ffebe9" };

/** A label line with the sign of its change ("+ 10.0.0.1/24"). */
const marked = (text: string, change: Change | undefined) => (change ? `${MARK[change]} ${text}` : text);

function title(ns: Namespace): string {
  return marked(`${ns.name ? `netns ${ns.label}` : "host"}${ns.forwarding ? " (forwarding)" : ""}`, ns.change);
}

/** The filter node's lines: "filter", then the policy. */
function policyLines(ns: Namespace): string[] {
  return ["filter", ...ns.policy.map((l) => marked(l.text, l.change))];
}

function deviceLines(d: Device): string[] {
  return [marked(d.kind === "bridge" || d.kind === "vxlan" ? `${d.name} (${d.kind})` : d.name, d.change), ...[...d.addresses, ...d.routes].map((l) => marked(l.text, l.change))];
}

/** Namespaces with no interface are still drawn, with their loopback. */
function devicesOf(ns: Namespace): Device[] {
  return ns.devices.length ? ns.devices : [{ id: `${ns.id}lo`, name: "lo", kind: "device", addresses: [], routes: [] }];
}

/**
 * The namespaces by host, in print order, each host with its box's id and title; a lab on the
 * local machine alone is one group without a box (id "").
 */
function hostGroups(g: LabGraph): { id: string; title: string; namespaces: Namespace[] }[] {
  const hosts = [...new Set(g.namespaces.map((ns) => ns.host))];
  if (hosts.length === 1 && hosts[0] === "") return [{ id: "", title: "", namespaces: g.namespaces }];
  return hosts.map((host, i) => ({ id: `h${i}`, title: host ? `host ${host}` : "local machine", namespaces: g.namespaces.filter((ns) => ns.host === host) }));
}

/** Mermaid flowchart text (renders on GitHub in a ```mermaid block). */
export function toMermaid(g: LabGraph): string {
  const q = (lines: string[]) => `"${lines.join("<br/>").replaceAll('"', "#quot;")}"`;
  const out = ["flowchart LR"];
  const classes: Record<string, string[]> = { added: [], changed: [], removed: [] };
  const classify = (id: string, change: Change | undefined) => change && classes[CLASS[change]]!.push(id);
  for (const group of hostGroups(g)) {
    const pad = group.id ? "  " : "";
    if (group.id) out.push(`  subgraph ${group.id}[${q([group.title])}]`);
    for (const ns of group.namespaces) {
      out.push(`${pad}  subgraph ${ns.id}[${q([title(ns)])}]`);
      classify(ns.id, ns.change);
      for (const d of devicesOf(ns)) {
        const label = q(deviceLines(d));
        const shape = d.kind === "bridge" ? `{{${label}}}` : d.kind === "veth" ? `([${label}])` : d.kind === "vxlan" ? `[[${label}]]` : d.kind === "process" ? `[/${label}/]` : `[${label}]`;
        out.push(`${pad}    ${d.id}${shape}`);
        classify(d.id, d.change);
      }
      if (ns.policy.length) out.push(`${pad}    ${ns.id}f>${q(policyLines(ns))}]`);
      out.push(`${pad}  end`);
    }
    if (group.id) out.push("  end");
  }
  for (const x of g.external) out.push(`  ${x.id}((${q([x.label])}))`);
  for (const e of g.edges) out.push(`  ${e.from} ${e.directed ? "-->" : "---"}|${q([marked(e.label, e.change)])}| ${e.to}`);
  for (const [name, ids] of Object.entries(classes)) {
    if (!ids.length) continue;
    const c = name as keyof typeof COLOR;
    out.push(`  classDef ${c} fill:${FILL[c]},stroke:${COLOR[c]},color:${COLOR[c]}${c === "removed" ? ",stroke-dasharray:4 3" : ""}`);
    out.push(`  class ${ids.join(",")} ${c}`);
  }
  for (const [i, e] of g.edges.entries()) {
    if (e.change) out.push(`  linkStyle ${i} stroke:${COLOR[CLASS[e.change]]},stroke-width:2px${e.change === "delete" ? ",stroke-dasharray:4 3" : ""}`);
  }
  return out.join("\n") + "\n";
}

/** Graphviz DOT text (`dot -Tpng`). */
export function toDot(g: LabGraph): string {
  const q = (lines: string[]) => `"${lines.map((l) => l.replaceAll("\\", "\\\\").replaceAll('"', '\\"')).join("\\n")}"`;
  /** Attributes of an element: `style` plus the colours of its change. */
  const attrs = (change: Change | undefined, style: string[]): string[] => {
    if (!change) return style.length ? [`style="${style.join(",")}"`] : [];
    const c = CLASS[change];
    return [`style="${[...style, "filled", ...(c === "removed" ? ["dashed"] : [])].join(",")}"`, `color="${COLOR[c]}"`, `fontcolor="${COLOR[c]}"`, `fillcolor="${FILL[c]}"`];
  };
  const out = ["digraph lab {", "  rankdir=LR;", '  fontname="Helvetica";', '  node [fontname="Helvetica" fontsize=10 shape=box];', '  edge [fontname="Helvetica" fontsize=9];'];
  for (const group of hostGroups(g)) {
    const pad = group.id ? "  " : "";
    if (group.id) out.push(`  subgraph cluster_${group.id} {`, `    label=${q([group.title])};`, `    style="dashed";`);
    for (const ns of group.namespaces) {
      out.push(`${pad}  subgraph cluster_${ns.id} {`, ...[`label=${q([title(ns)])}`, ...attrs(ns.change, ["rounded"])].map((a) => `${pad}    ${a};`));
      for (const d of devicesOf(ns)) {
        const shape = d.kind === "bridge" ? ["shape=hexagon"] : d.kind === "process" ? ["shape=parallelogram"] : d.kind === "vxlan" ? ["shape=box3d"] : [];
        out.push(`${pad}    ${d.id} [${[`label=${q(deviceLines(d))}`, ...shape, ...attrs(d.change, d.kind === "veth" ? ["rounded"] : [])].join(" ")}];`);
      }
      if (ns.policy.length) out.push(`${pad}    ${ns.id}f [label=${q(policyLines(ns))} shape=note];`);
      out.push(`${pad}  }`);
    }
    if (group.id) out.push("  }");
  }
  for (const x of g.external) out.push(`  ${x.id} [label=${q([x.label])} shape=ellipse];`);
  for (const e of g.edges) {
    const c = e.change && CLASS[e.change];
    const style = c ? [`color="${COLOR[c]}"`, `fontcolor="${COLOR[c]}"`, "penwidth=2", ...(c === "removed" ? ["style=dashed"] : [])] : [];
    out.push(`  ${e.from} -> ${e.to} [${[`label=${q([marked(e.label, e.change)])}`, ...(e.directed ? [] : ["dir=none"]), ...style].join(" ")}];`);
  }
  out.push("}");
  return out.join("\n") + "\n";
}
