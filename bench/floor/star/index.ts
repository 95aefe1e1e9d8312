import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";

// The floor for the bench's star (bench/star/program) at config `n` namespaces: the same 5n+4
// resources, each with as many properties as its nslab class sends (the SDK's work grows with
// them: four promises and a stack per property) and the same dependencies, but a provider that
// does nothing. `npm run bench` minus this is what nslab's providers add. The first create writes
// the time to NSLAB_FLOOR_MARK, as in ../program.

const provider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return { inputs: news };
  },
  async diff() {
    return { changes: false };
  },
  async create(inputs) {
    const mark = process.env.NSLAB_FLOOR_MARK;
    if (mark && !fs.existsSync(mark)) fs.writeFileSync(mark, String(Date.now()));
    return { id: String(inputs.name), outs: inputs };
  },
  async delete() {},
};

/** A resource with `count` properties (name, the given ones, the rest unset), __provider apart. */
class Nothing extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  constructor(name: string, count: number, props: Record<string, pulumi.Input<unknown>> = {}, opts?: pulumi.CustomResourceOptions) {
    const all: Record<string, pulumi.Input<unknown>> = { name, ...props };
    for (let i = Object.keys(all).length; i < count; i++) all[`p${i}`] = undefined;
    super(provider, name, all, opts, "floor", "Nothing");
  }
}

// Properties per kind as the nslab classes send them (sdk/resources/*.ts, in the star's use).
const n = new pulumi.Config().requireNumber("n");
const bridge = new Nothing("bridge", 9);
new Nothing("bridge-ip", 7, { device: bridge.name });
new Nothing("forwarding", 4);
new Nothing("nat", 4, { notOutInterface: bridge.name });
for (let i = 0; i < n; i++) {
  const ns = new Nothing(`ns${i}`, 4);
  const veth = new Nothing(`veth${i}`, 16, { master: bridge.name, peerNetns: ns.name }, { deletedWith: ns });
  const ip = new Nothing(`ip${i}`, 7, { device: veth.name }, { deletedWith: veth });
  new Nothing(`default${i}`, 9, { device: veth.name }, { dependsOn: [ip], deletedWith: veth });
  new Nothing(`web${i}`, 5);
}
