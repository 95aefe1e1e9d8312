import * as path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";

// The SDK's layer (docs/design.md, "Layers"): a program's `require("nslab")` loads the SDK and
// provider/lib's pure modules, and no provider code: no driver (nothing that spawns a process), no
// kind, not the registry. The providers are loaded by the dynamic-provider host, through the shim.

const root = path.resolve(__dirname, "../..");

test('require("nslab") loads no provider module outside provider/lib', () => {
  const before = new Set(Object.keys(require.cache));
  require("../../sdk");
  const loaded = Object.keys(require.cache)
    .filter((f) => !before.has(f) && f.startsWith(root) && !f.includes("node_modules"))
    .map((f) => path.relative(root, f));
  const provider = loaded.filter((f) => f.startsWith("provider/"));
  assert.ok(loaded.some((f) => f.startsWith("sdk/")), `the SDK itself is loaded: ${loaded.join(", ")}`);
  assert.equal(provider.filter((f) => !f.startsWith("provider/lib/")), [], "provider modules loaded by the SDK");
});

test.run();
