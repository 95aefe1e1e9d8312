import * as pulumi from "@pulumi/pulumi";
import { contains, familyOf, parseCidr, parseIp, type Family } from "../../provider/lib/cidr";
import { hostKey, type Host } from "../../provider/lib/host";
import { shortHash } from "../../provider/lib/names";

// References carry identity (docs/design.md, "Kernel names are identity"): an argument that names another nslab object
// (`netns`, `master`, `device`) accepts the resource itself as well as a name. Passed a resource,
// the dependent also receives the referent's `incarnation` under `<key>Identity`, a token that
// changes exactly when the referent is re-created, so the dependent is updated or replaced with
// it, never left silently broken. The token is computed from the referent's identity inputs, not
// from a kernel output (ifindex, namespace inode): in a preview an updated resource's outputs are
// its new inputs, so a kernel output would be unknown there and every dependent would preview as
// replaced, though `up` replaces nothing.

/** A namespace: its name, or a Netns resource (anything with `name` and `incarnation` outputs). */
export type NetnsRef = pulumi.Input<string> | { readonly name: pulumi.Output<string>; readonly incarnation: pulumi.Output<string> };

/** A link: its name, or a resource with `name` and `incarnation` outputs (a Bridge, a VethPair, `VethPair.peer`). */
export type LinkRef =
  | pulumi.Input<string>
  | {
      readonly name: pulumi.Output<string>;
      readonly incarnation: pulumi.Output<string>;
      /**
       * The namespace the link is in, as the program gave it (undefined: the host's). Known before
       * the link exists, unlike an output, so a preview of what is on the link stays exact.
       */
      readonly linkNetns?: pulumi.Input<string> | undefined;
      /** The Netns resource the link is in, when the program gave one: deleting it takes the link and what is on it, records included. */
      readonly netnsResource?: pulumi.Resource | undefined;
      /** The resource whose deletion deletes the link, when the reference is not a resource itself. */
      readonly resource?: pulumi.Resource;
    };

function isResourceLike(x: unknown): x is { name: pulumi.Output<string>; incarnation: pulumi.Output<string> } {
  return typeof x === "object" && x !== null && !pulumi.Output.isInstance(x) && "name" in x && pulumi.Output.isInstance((x as { name: unknown }).name) && "incarnation" in x;
}

/**
 * The name input and its identity input for a reference given as `key` (`netns`, `master`,
 * `device`, ...): `{ [key]: name, [key + "Identity"]: incarnation }` for a resource, the name alone
 * otherwise.
 */
export function refInputs(key: string, ref: NetnsRef | LinkRef | undefined): Record<string, pulumi.Input<unknown> | undefined> {
  if (ref === undefined) return {};
  if (isResourceLike(ref)) return { [key]: ref.name, [`${key}Identity`]: ref.incarnation };
  return { [key]: ref as pulumi.Input<string> };
}

/**
 * The incarnation of a resource: a short hash of its inputs under `replaceKeys` (its provider's
 * `DIFF.replace`, where the `<key>Identity` inputs already hold its own referents' incarnations),
 * so it changes exactly when the resource is replaced, its referents' replacements included. The
 * resource's own output for one of those keys (`own`, e.g. `{ name: this.name }`) stands for the
 * input: it makes the token depend on the resource (a dependent waits for it), and is known in
 * preview whenever the input is.
 */
export function incarnationOf(own: Record<string, pulumi.Output<unknown>>, inputs: Record<string, unknown>, replaceKeys: readonly string[]): pulumi.Output<string> {
  // An unset `host` adds nothing: a resource on the provider's machine keeps the token it had before hosts existed.
  const keys = replaceKeys.filter((k) => k !== "host" || inputs.host !== undefined);
  const values = keys.map((k) => own[k] ?? pulumi.output(inputs[k] as pulumi.Input<unknown>));
  return pulumi.all(values).apply((resolved) => shortHash(keys.map((k, i) => `${k}=${JSON.stringify(resolved[i] ?? null)}`), 16));
}

/** The name of a namespace given as a NetnsRef. */
export function netnsName(ref: NetnsRef | undefined): pulumi.Input<string> | undefined {
  return isResourceLike(ref) ? ref.name : (ref as pulumi.Input<string> | undefined);
}

/** The Netns resource of a NetnsRef, when it is one. */
export function netnsResourceOf(ref: NetnsRef | undefined): pulumi.Resource | undefined {
  return pulumi.Resource.isInstance(ref) ? ref : undefined;
}

/** The Netns resource a LinkRef lives in, when it is a resource that knows it. */
export function netnsResourceOfLink(ref: LinkRef | undefined): pulumi.Resource | undefined {
  return isResourceLike(ref) && "netnsResource" in ref ? ref.netnsResource : undefined;
}

/** The namespace a LinkRef lives in, when it is a resource that knows it. */
export function netnsOfLink(ref: LinkRef | undefined): pulumi.Input<string> | undefined {
  return isResourceLike(ref) && "linkNetns" in ref ? ref.linkNetns : undefined;
}

/**
 * `deletedWith` the first referent whose deletion the kernel cascades to this object (a
 * namespace takes everything in it, a link its addresses and routes), so destroy skips the work
 * the kernel does anyway. Pass only such references (never a `master`: a bridge's ports survive it).
 */
export function deletedWithRef(opts: pulumi.CustomResourceOptions | undefined, ...refs: (NetnsRef | LinkRef | pulumi.Resource | undefined)[]): pulumi.CustomResourceOptions | undefined {
  if (opts?.deletedWith) return opts;
  for (const r of refs) {
    if (pulumi.Resource.isInstance(r)) return { ...opts, deletedWith: r };
    if (isResourceLike(r) && "resource" in r && r.resource) return { ...opts, deletedWith: r.resource };
  }
  return opts;
}

/** What a Route needs to know of an Address declared before it (declareAddress). */
interface DeclaredAddress {
  readonly device: LinkRef;
  /** The namespace as the program gave it (a name or a Netns's `name` output; undefined: the host's). */
  readonly netns: pulumi.Input<string> | undefined;
  readonly address: pulumi.Input<string>;
  readonly incarnation: pulumi.Output<string>;
  /** Its host: an object of another host is another kernel's. */
  readonly host: Host | undefined;
}

/** What one run of the program declared (declareAddress, declareLink). */
interface Declared {
  readonly addresses: Map<pulumi.Resource, DeclaredAddress>;
  readonly links: DeclaredLink[];
}

/**
 * The declarations of each run, keyed by its Stack resource: nslab runs up's preview and its
 * update in one process, and this module is evaluated once there (docs/engine.md, "Running the
 * program"), so a run must not see what the one before it declared.
 */
const runs = new WeakMap<object, Declared>();
/** The key outside a Stack (unit tests with mocks). */
const NO_STACK = {};

function declared(): Declared {
  const key = pulumi.runtime.getStackResource() ?? NO_STACK;
  let d = runs.get(key);
  if (!d) runs.set(key, (d = { addresses: new Map(), links: [] }));
  return d;
}

/** Records an Address of the program, for the Routes declared after it (addressesIdentity). */
export function declareAddress(resource: pulumi.Resource, address: DeclaredAddress): void {
  declared().addresses.set(resource, address);
}

/** The namespace of an object given `netns` and `device`, as the program gave it: compared by identity. */
export function netnsOf(netns: NetnsRef | undefined, device: LinkRef | undefined): pulumi.Input<string> | undefined {
  return netns !== undefined ? netnsName(netns) : netnsOfLink(device);
}

/** The family of a plain string address, network or "default" (undefined while it is an Output). */
function plainFamily(v: unknown): Family | undefined {
  return typeof v === "string" ? familyOf(v) : undefined;
}

/**
 * The Addresses a Route relies on: when the last address of its family leaves a link, the kernel
 * flushes every route through that link, and an address replaced is deleted first. So a route
 * takes the incarnations of the Addresses in its `dependsOn`, of those declared before it on its
 * `device` (the same resource or name, in the same namespace), and, without a device, of those in
 * its namespace that cover its gateway, and is re-installed when one of them is re-created (an
 * update, shown in preview). Undefined when it relies on none.
 */
export function addressesIdentity(
  route: { device?: LinkRef; netns?: NetnsRef; destination: pulumi.Input<string>; via?: pulumi.Input<string> },
  dependsOn: pulumi.CustomResourceOptions["dependsOn"],
  host: Host | undefined,
): pulumi.Output<string> | undefined {
  const explicit = new Set(Array.isArray(dependsOn) ? dependsOn : dependsOn !== undefined ? [dependsOn] : []);
  const netns = netnsOf(route.netns, route.device);
  const family = route.destination === "default" ? (route.via === undefined ? 4 : plainFamily(route.via)) : plainFamily(route.destination);
  const gateway = typeof route.via === "string" ? parseIp(route.via) : undefined;
  const relied = [...declared().addresses].filter(([resource, a]) => {
    if (explicit.has(resource)) return true;
    if (a.netns !== netns || hostKey(a.host) !== hostKey(host)) return false;
    const sameFamily = family === undefined || plainFamily(a.address) === undefined || plainFamily(a.address) === family;
    if (route.device !== undefined) return a.device === route.device && sameFamily;
    const cidr = typeof a.address === "string" ? parseCidr(a.address) : undefined;
    return gateway !== undefined && cidr !== undefined && contains(cidr, gateway);
  });
  if (relied.length === 0) return undefined;
  return pulumi.all(relied.map(([, a]) => a.incarnation)).apply((tokens) => shortHash(tokens, 16));
}

/** A link of the program, for the per-interface Sysctls declared after it (linkIdentity). */
interface DeclaredLink {
  /** The namespace as the program gave it (a name or a Netns's `name` output; undefined: the host's). */
  readonly netns: pulumi.Input<string> | undefined;
  readonly name: pulumi.Input<string>;
  readonly incarnation: pulumi.Output<string>;
  readonly host: Host | undefined;
}

/** Records a link end of the program (a VethPair's two ends, a Bridge). */
export function declareLink(link: DeclaredLink): void {
  declared().links.push(link);
}

/** The incarnation of the links named `ifname` declared before in namespace `netns` of `host` (compared as the program gave them). */
function declaredLinkIdentity(ifname: string | undefined, netns: pulumi.Input<string> | undefined, host: Host | undefined): pulumi.Output<string> | undefined {
  const links = declared().links.filter((l) => l.name === ifname && l.netns === netns && hostKey(l.host) === hostKey(host));
  return links.length ? pulumi.all(links.map((l) => l.incarnation)).apply((tokens) => shortHash(tokens, 16)) : undefined;
}

/**
 * refInputs for a link reference in namespace `netns`: a link given by name also carries the
 * incarnation of the link of that name the program declared before it there, so it follows that
 * link as a resource reference would.
 */
export function linkRefInputs(key: string, ref: LinkRef | undefined, netns: pulumi.Input<string> | undefined, host: Host | undefined): Record<string, pulumi.Input<unknown> | undefined> {
  const identity = typeof ref === "string" ? declaredLinkIdentity(ref, netns, host) : undefined;
  return identity ? { [key]: ref, [`${key}Identity`]: identity } : refInputs(key, ref);
}

/**
 * The incarnation of the link a per-interface sysctl key (`net.<family>.{conf,neigh}.<interface>.<name>`)
 * names, when a link of that name in that namespace was declared before it: a re-created link
 * starts from the kernel's defaults, so the Sysctl is replaced with it (and waits for it).
 */
export function linkIdentity(key: pulumi.Input<string>, netns: NetnsRef | undefined, host: Host | undefined): pulumi.Output<string> | undefined {
  const m = typeof key === "string" ? /^net\.ipv[46]\.(?:conf|neigh)\.([^.]+)\.[^.]+$/.exec(key) : null;
  return m ? declaredLinkIdentity(m[1]!.replace(/\//g, "."), netnsName(netns), host) : undefined;
}
