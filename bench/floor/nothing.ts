import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";

// The resource of the floor programs (`npm run bench:floor`): its provider does nothing, so a
// run's time is registration, RPC, the provider host and the SDK's own per-resource work. The
// first create writes the time (ms since the epoch) to the file named by NSLAB_FLOOR_MARK: the
// run's fixed cost before any resource.

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

/** A resource whose properties are `name` and `props`. */
export class Nothing extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  constructor(name: string, props: Record<string, pulumi.Input<unknown>> = {}, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { name, ...props }, opts, "floor", "Nothing");
  }
}
