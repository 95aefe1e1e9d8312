import * as pulumi from "@pulumi/pulumi";
import { Nothing } from "../nothing";

// The floor for the bench's star (bench/star/program) at config `n` namespaces: the same 5n+4
// resources, each with as many properties as its nslab class sends (the SDK's work grows with
// them: four promises and a stack per property) and the same dependencies, but a provider that
// does nothing (../nothing.ts). `npm run bench` minus this is what nslab's providers add.

/** A resource of `count` properties: name, the given ones, and unset ones up to the count. */
function resource(name: string, count: number, props: Record<string, pulumi.Input<unknown>> = {}, opts?: pulumi.CustomResourceOptions): Nothing {
  const all = { ...props };
  for (let i = Object.keys(all).length + 1; i < count; i++) all[`p${i}`] = undefined;
  return new Nothing(name, all, opts);
}

// Properties per kind as the nslab classes send them (sdk/resources/*.ts, in the star's use).
const n = new pulumi.Config().requireNumber("n");
const bridge = resource("bridge", 9);
resource("bridge-ip", 7, { device: bridge.name });
resource("forwarding", 4);
resource("nat", 4, { notOutInterface: bridge.name });
for (let i = 0; i < n; i++) {
  const ns = resource(`ns${i}`, 4);
  const veth = resource(`veth${i}`, 16, { master: bridge.name, peerNetns: ns.name }, { deletedWith: ns });
  const ip = resource(`ip${i}`, 7, { device: veth.name }, { deletedWith: veth });
  resource(`default${i}`, 9, { device: veth.name }, { dependsOn: [ip], deletedWith: veth });
  resource(`web${i}`, 5);
}
