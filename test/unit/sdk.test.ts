import * as pulumi from "@pulumi/pulumi";
import { suite } from "uvu";
import * as assert from "uvu/assert";

// The SDK classes under Pulumi's mock runtime in preview: the inputs they send (owner, default
// names, references resolved into name + the referent's incarnation), their type tokens and
// options. As in a real preview of a create or an update, a resource's outputs are its inputs, so
// what only the kernel knows (ifindex, a namespace's identity) is unknown.

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
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: () => ({}),
  },
  "lab",
  "dev",
  true,
);

// Loaded after setMocks, as Pulumi's own mock tests do.
const nslab: typeof import("../../sdk") = require("../../sdk");

const test = suite("sdk");

/** An output's value, or "unknown" when the preview does not know it. */
async function settled<T>(o: pulumi.Output<T>): Promise<T | "unknown"> {
  const internal = o as unknown as { isKnown: Promise<boolean>; promise(): Promise<T> };
  return (await internal.isKnown) ? internal.promise() : "unknown";
}

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

test("a resource passed as netns, master or device sends its name and its incarnation, known in preview", async () => {
  const ns = new nslab.Netns("lab-ns", { name: "lab" });
  const br = new nslab.Bridge("lab-br", { name: "br0" });
  const veth = new nslab.VethPair("lab-veth", { name: "h0", master: br, peerName: "p0", peerNetns: ns });
  new nslab.Address("lab-ip", { device: veth.peer, address: "10.0.0.2/24" });
  new nslab.Route("lab-route", { destination: "default", via: "10.0.0.1", netns: "lab", device: "p0" });
  const [nsToken, brToken, vethToken] = await Promise.all([ns.incarnation, br.incarnation, veth.incarnation].map(settled));
  assert.match(`${nsToken} ${brToken} ${vethToken}`, /^[0-9a-f]{16} [0-9a-f]{16} [0-9a-f]{16}$/);
  assert.equal([await settled(veth.ifindex), await settled(ns.identity)], ["unknown", "unknown"], "what only the kernel knows is unknown");
  const v = await inputsOf("lab-veth");
  assert.equal([v.peerNetns, v.peerNetnsIdentity, v.master, v.masterIdentity], ["lab", nsToken, "br0", brToken]);
  const a = await inputsOf("lab-ip");
  assert.equal([a.device, a.netns, a.deviceIdentity], ["p0", "lab", vethToken], "the peer's name, namespace and the pair's incarnation");
  const r = await inputsOf("lab-route");
  assert.equal([r.device, r.netns, r.deviceIdentity, r.netnsIdentity], ["p0", "lab", undefined, undefined], "plain names carry no identity");
});

test("a VethPair's incarnation changes with its name or peer namespace (a replace), not with its MTU (an update)", async () => {
  const [blue, green] = [new nslab.Netns("inc-blue", { name: "blue" }), new nslab.Netns("inc-green", { name: "green" })];
  const base = { name: "i0", peerName: "p0", peerNetns: blue };
  const pairs = [
    new nslab.VethPair("inc-base", base),
    new nslab.VethPair("inc-mtu", { ...base, mtu: 9000 }),
    new nslab.VethPair("inc-renamed", { ...base, name: "i1" }),
    new nslab.VethPair("inc-moved", { ...base, peerNetns: green }),
  ];
  const [same, mtu, renamed, moved] = await Promise.all(pairs.map((p) => settled(p.incarnation)));
  assert.match(same!, /^[0-9a-f]{16}$/);
  assert.is(mtu, same);
  assert.equal([renamed === same, moved === same, renamed === moved], [false, false, false]);
  assert.is(await settled(pairs[0]!.peer.incarnation), same, "the peer carries the pair's incarnation");
});

test("a Process takes its Netns's name and incarnation; a TrafficControl on vethPair.peer takes the peer's namespace", async () => {
  const ns = new nslab.Netns("srv-ns", { name: "srv" });
  new nslab.Process("srv-web", { netns: ns, command: ["python3", "-m", "http.server", "80"], ready: { tcpPort: 80 } });
  const veth = new nslab.VethPair("srv-veth", { name: "s0", peerName: "eth0", peerNetns: ns });
  new nslab.TrafficControl("srv-slow", { device: veth.peer, rate: "8mbit" });
  const nsToken = await settled(ns.incarnation);
  const p = await inputsOf("srv-web");
  assert.equal([p.netns, p.netnsIdentity, p.command, p.ready], ["srv", nsToken, ["python3", "-m", "http.server", "80"], { tcpPort: 80 }]);
  assert.is(registered.find((r) => r.name === "srv-web")!.type, "pulumi-nodejs:dynamic/nslab:Process");
  const t = await inputsOf("srv-slow");
  assert.equal([t.device, t.netns, t.deviceIdentity, t.rate], ["eth0", "srv", await settled(veth.incarnation), "8mbit"]);
});

test.run();
