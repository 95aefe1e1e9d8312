import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Kind, KindProvider } from "../../provider/lib/kind";
import { packageDir } from "./runtime";

// The provider Pulumi serializes into every resource's `__provider` (docs/design.md, "The serialized provider is a thin shim"): a
// tiny object whose methods load the real implementation by package name when the
// dynamic-provider host calls them. State stays small, a fixed delete reaches resources created
// by older versions, and nothing ESM-only is ever captured. One frozen instance per kind.

const shims = new Map<Kind, pulumi.dynamic.ResourceProvider>();
const kindOf = new Map<pulumi.dynamic.ResourceProvider, Kind>();

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
    kindOf.set(shim, kind);
  }
  return shim;
}

/**
 * Each kind's shim as Pulumi's closure serializer writes it, made by the build with that
 * serializer (scripts/serialize-providers.js; test/unit/serializedProviders.test.ts checks it
 * against the SDK's own). Where: the build's, from the sources as from dist/.
 */
export const SERIALIZED_PROVIDERS = path.join(packageDir(__filename), "dist/sdk/internal/providers.json");

let serialized: Partial<Record<Kind, string>> | undefined;

function serializedText(provider: pulumi.dynamic.ResourceProvider): string {
  const kind = kindOf.get(provider);
  if (!kind) throw new Error("nslab: a DynamicResource's provider must be a shim of providerFor()");
  try {
    serialized ??= JSON.parse(fs.readFileSync(SERIALIZED_PROVIDERS, "utf8")) as Partial<Record<Kind, string>>;
  } catch (err) {
    throw new Error(`nslab: cannot read the serialized providers (npm run build makes them): ${(err as Error).message}`);
  }
  const text = serialized[kind];
  if (text === undefined) throw new Error(`nslab: ${SERIALIZED_PROVIDERS} has no provider for ${kind}: npm run build makes it`);
  return text;
}

/**
 * A pulumi.dynamic.Resource, with its constructor, whose `__provider` is the shim's serialized
 * text made at build time: the same string the SDK's serializer gives, so states diff as before,
 * without loading the closure serializer (and TypeScript, and the V8 inspector it drives) in
 * every program run.
 */
export abstract class DynamicResource extends pulumi.CustomResource {
  constructor(provider: pulumi.dynamic.ResourceProvider, name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions | undefined, module: string, type: string) {
    if (props.__provider) throw new Error("A dynamic resource must not define the __provider key");
    super(`pulumi-nodejs:dynamic/${module}:${type}`, name, { ...props, __provider: serializedText(provider) }, opts);
  }
}
