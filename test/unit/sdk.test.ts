import * as pulumi from "@pulumi/pulumi";
import { suite } from "uvu";
import * as assert from "uvu/assert";

// The SDK classes under Pulumi's mock runtime: the inputs they send (owner, default names,
// references resolved into name + identity), their type tokens and options.

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
}
const registered: Registered[] = [];

void pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      return { id: `${args.name}-id`, state: { ...args.inputs, identity: `4026532000@${registered.length}`, ifindex: registered.length, peerIfindex: 100 + registered.length } };
    },
    call: () => ({}),
  },
  "lab",
  "dev",
);

// Loaded after setMocks, as Pulumi's own mock tests do.
const nslab: typeof import("../../sdk") = require("../../sdk");

const test = suite("sdk");

function inputsOf(name: string): Promise<Record<string, any>> {
  return new Promise((resolve) => {
    const poll = () => {
      const r = registered.find((x) => x.name === name);
      if (r) resolve(r.inputs);
      else setTimeout(poll, 5);
    };
    poll();
  });
}

test("Netns sends its owner and a default name derived from the resource name and stack", async () => {
  new nslab.Netns("red");
  const inputs = await inputsOf("red");
  assert.equal(inputs.owner, { project: "lab", stack: "dev", path: ["red"] });
  assert.match(inputs.name, /^red-[0-9a-f]{4}$/);
  assert.ok(typeof inputs.__provider === "string" && inputs.__provider.includes('require("nslab/provider")'));
  assert.is(registered.find((r) => r.name === "red")!.type, "pulumi-nodejs:dynamic/nslab:Netns");
});

test("an explicit name is kept, and a parent's name joins the owner path", async () => {
  const parent = new pulumi.ComponentResource("nslab:index:Segment", "lan", {}, {});
  new nslab.Netns("blue", { name: "blue", loopback: false }, { parent });
  const inputs = await inputsOf("blue");
  assert.is(inputs.name, "blue");
  assert.is(inputs.loopback, false);
  assert.equal(inputs.owner.path, ["lan", "blue"]);
});

test("a resource passed as netns, master or device sends its name and its identity", async () => {
  const ns = new nslab.Netns("lab-ns", { name: "lab" });
  const br = new nslab.Bridge("lab-br", { name: "br0" });
  const veth = new nslab.VethPair("lab-veth", { name: "h0", master: br, peerName: "p0", peerNetns: ns });
  new nslab.Address("lab-ip", { device: veth.peer, address: "10.0.0.2/24" });
  new nslab.Route("lab-route", { destination: "default", via: "10.0.0.1", netns: "lab", device: "p0" });
  const v = await inputsOf("lab-veth");
  assert.equal([v.peerNetns, typeof v.peerNetnsIdentity, v.master, typeof v.masterIfindex], ["lab", "string", "br0", "number"]);
  const a = await inputsOf("lab-ip");
  assert.equal([a.device, a.netns, typeof a.deviceIfindex], ["p0", "lab", "number"], "the peer's name, namespace and ifindex");
  const r = await inputsOf("lab-route");
  assert.equal([r.device, r.netns, r.deviceIfindex, r.netnsIdentity], ["p0", "lab", undefined, undefined], "plain names carry no identity");
});

test.run();
