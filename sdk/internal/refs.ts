import * as pulumi from "@pulumi/pulumi";
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
 * resource's own `name` output stands for the `name` input: it makes the token depend on the
 * resource (a dependent waits for it), and is known in preview whenever the name input is.
 */
export function incarnationOf(name: pulumi.Output<string>, inputs: Record<string, unknown>, replaceKeys: readonly string[]): pulumi.Output<string> {
  const values = replaceKeys.map((k) => (k === "name" ? name : pulumi.output(inputs[k] as pulumi.Input<unknown>)));
  return pulumi.all(values).apply((resolved) => shortHash(replaceKeys.map((k, i) => `${k}=${JSON.stringify(resolved[i] ?? null)}`), 16));
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
