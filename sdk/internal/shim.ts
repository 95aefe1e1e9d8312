import type * as pulumi from "@pulumi/pulumi";
import type { Kind, KindProvider } from "../../provider/lib/kind";

// The provider Pulumi serializes into every resource's `__provider` (docs/design.md, "The serialized provider is a thin shim"): a
// tiny object whose methods load the real implementation by package name when the
// dynamic-provider host calls them. State stays small, a fixed delete reaches resources created
// by older versions, and nothing ESM-only is ever captured. One frozen instance per kind, so
// the SDK's per-provider serialization cache serializes each kind once.

const shims = new Map<Kind, pulumi.dynamic.ResourceProvider>();

export function providerFor(kind: Kind): pulumi.dynamic.ResourceProvider {
  let shim = shims.get(kind);
  if (!shim) {
    // Everything below is serialized by value: it may capture `kind` and nothing else.
    const impl = (): KindProvider => require("nslab/provider").providers[kind];
    shim = Object.freeze({
      check: (olds: any, news: any) => impl().check(olds, news),
      diff: (id: string, olds: any, news: any) => impl().diff(id, olds, news),
      create: (inputs: any) => impl().create(inputs),
      read: (id: string, props: any) => impl().read(id, props),
      update: (id: string, olds: any, news: any) => impl().update(id, olds, news),
      delete: (id: string, props: any) => impl().delete(id, props),
    });
    shims.set(kind, shim);
  }
  return shim;
}
