import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";

// The floor the SDK and the engine set (`npm run bench:floor`): config `n` independent dynamic
// resources whose provider does nothing, so a run's time is registration, RPC, the provider
// host and the SDK's own per-resource work. The first create writes the time (ms since the
// epoch) to the file named by NSLAB_FLOOR_MARK: the run's fixed cost before any resource.

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
    return { id: inputs.name, outs: inputs };
  },
  async delete() {},
};

class Nothing extends pulumi.dynamic.Resource {
  constructor(name: string) {
    super(provider, name, { name }, undefined, "floor", "Nothing");
  }
}

const n = new pulumi.Config().requireNumber("n");
for (let i = 0; i < n; i++) new Nothing(`r${i}`);
