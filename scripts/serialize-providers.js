// Build step (after tsc): each kind's provider shim (dist/sdk/internal/shim.js) serialized by
// Pulumi's own closure serializer, as pulumi.dynamic.Resource does it (`() => provider`, secrets
// allowed), into dist/sdk/internal/providers.json, which the SDK's resources send as `__provider`
// (sdk/internal/shim.ts). Serializing at build time spares every program run the serializer,
// TypeScript and the V8 inspector it loads.
const fs = require("node:fs");
const path = require("node:path");
const { serializeFunction } = require("@pulumi/pulumi/runtime/closure/serializeClosure");

const dist = path.resolve(__dirname, "../dist");
const { providerFor, SERIALIZED_PROVIDERS } = require(path.join(dist, "sdk/internal/shim.js"));
const { providers } = require(path.join(dist, "provider/index.js"));

async function main() {
  const out = {};
  for (const kind of Object.keys(providers).sort()) {
    const provider = providerFor(kind);
    const { text, containsSecrets } = await serializeFunction(() => provider, { allowSecrets: true });
    if (containsSecrets) throw new Error(`the serialized ${kind} provider captured a secret`);
    out[kind] = text;
  }
  fs.writeFileSync(SERIALIZED_PROVIDERS, JSON.stringify(out, null, 2) + "\n");
}

main().catch((err) => {
  console.error(`serialize-providers: ${err.stack ?? err}`);
  process.exit(1);
});
