import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { suite } from "uvu";
import * as assert from "uvu/assert";

// The `__provider` the SDK's resources send is made by the build (scripts/serialize-providers.js)
// from the built shims (sdk/internal/shim.ts): it must stay the very text pulumi.dynamic.Resource
// gives for the same shim, so existing states diff as no change and a change of the SDK or of the
// shim cannot drift from it unnoticed (npm run build makes it again).

const sent = new Map<string, string>();
void pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      sent.set(args.name, args.inputs.__provider);
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: () => ({}),
  },
  "lab",
  "dev",
  true,
);

const dist = path.resolve(__dirname, "../../dist/sdk");
const { providerFor, SERIALIZED_PROVIDERS } = require(path.join(dist, "internal/shim.js"));
const shipped: Record<string, string> = require(SERIALIZED_PROVIDERS);
const nslab: typeof import("../../sdk") = require(dist);

function sentBy(name: string): Promise<string> {
  return new Promise((resolve) => {
    const poll = () => (sent.has(name) ? resolve(sent.get(name)!) : setTimeout(poll, 5));
    poll();
  });
}

const test = suite("serialized providers");

test("every kind's shipped __provider is what pulumi.dynamic.Resource serializes for its shim", async () => {
  const kinds = Object.keys(require(path.resolve(__dirname, "../../dist/provider")).providers).sort();
  assert.equal(Object.keys(shipped).sort(), kinds);
  class ByTheSdk extends pulumi.dynamic.Resource {}
  for (const kind of kinds) {
    new ByTheSdk(providerFor(kind), `sdk-${kind}`, {}, undefined, "nslab", kind);
    assert.ok((await sentBy(`sdk-${kind}`)) === shipped[kind], `${kind}: the shipped serialized provider differs from the SDK's; run npm run build`);
  }
});

test("a resource sends the shipped text, with the type token of pulumi.dynamic.Resource", async () => {
  const ns = new nslab.Netns("red");
  assert.is(await sentBy("red"), shipped.Netns);
  assert.is((ns as unknown as { __pulumiType: string }).__pulumiType, "pulumi-nodejs:dynamic/nslab:Netns");
});

test.run();
