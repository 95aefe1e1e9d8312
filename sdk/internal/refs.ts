import * as pulumi from "@pulumi/pulumi";

// References carry identity (design.md decision 3): an argument that names another nslab object
// (`netns`, `master`, `device`) accepts the resource itself as well as a name. Passed a resource,
// the dependent also receives an output that changes when the referent is re-created (the
// namespace's identity, the link's ifindex) and so is updated or replaced with it, never left
// silently broken.

/** A namespace: its name, or a Netns resource (anything with `name` and `identity` outputs). */
export type NetnsRef = pulumi.Input<string> | { readonly name: pulumi.Output<string>; readonly identity: pulumi.Output<string> };

/** A link: its name, or a resource with `name` and `ifindex` outputs (a Bridge, a VethPair, `VethPair.peer`). */
export type LinkRef =
  | pulumi.Input<string>
  | {
      readonly name: pulumi.Output<string>;
      readonly ifindex: pulumi.Output<number>;
      /**
       * The namespace the link is in, as the program gave it (undefined: the host's). Known before
       * the link exists, unlike an output, so a preview of what is on the link stays exact.
       */
      readonly linkNetns?: pulumi.Input<string> | undefined;
      /** The resource whose deletion deletes the link, when the reference is not a resource itself. */
      readonly resource?: pulumi.Resource;
    };

function isResourceLike(x: unknown): x is { name: pulumi.Output<string> } {
  return typeof x === "object" && x !== null && !pulumi.Output.isInstance(x) && "name" in x && pulumi.Output.isInstance((x as { name: unknown }).name);
}

/** The `netns` input and its identity input (`<key>Identity`) for a NetnsRef. */
export function netnsInputs(key: string, ref: NetnsRef | undefined): Record<string, pulumi.Input<unknown> | undefined> {
  if (ref === undefined) return {};
  if (isResourceLike(ref) && "identity" in ref) return { [key]: ref.name, [`${key}Identity`]: ref.identity };
  return { [key]: ref as pulumi.Input<string> };
}

/** The name input and its identity input (`<key>Ifindex`) for a LinkRef. */
export function linkInputs(key: string, ref: LinkRef | undefined): Record<string, pulumi.Input<unknown> | undefined> {
  if (ref === undefined) return {};
  if (isResourceLike(ref) && "ifindex" in ref) return { [key]: ref.name, [`${key}Ifindex`]: ref.ifindex };
  return { [key]: ref as pulumi.Input<string> };
}

/** The name of a namespace given as a NetnsRef. */
export function netnsName(ref: NetnsRef | undefined): pulumi.Input<string> | undefined {
  return isResourceLike(ref) ? ref.name : (ref as pulumi.Input<string> | undefined);
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
export function deletedWithRef(opts: pulumi.CustomResourceOptions | undefined, ...refs: (NetnsRef | LinkRef | undefined)[]): pulumi.CustomResourceOptions | undefined {
  if (opts?.deletedWith) return opts;
  for (const r of refs) {
    if (pulumi.Resource.isInstance(r)) return { ...opts, deletedWith: r };
    if (isResourceLike(r) && "resource" in r && r.resource) return { ...opts, deletedWith: r.resource };
  }
  return opts;
}
