import { suite } from "uvu";
import * as assert from "uvu/assert";
import { providers } from "../../provider";
import { owner, sh } from "../helpers/kernel";

// docs/kernel-facts.md, D2: a lab namespace deleted by hand. Netns reads gone, and so does everything that lived in it
// or had an end in it — the VethPair (whose host end the kernel removes asynchronously), the
// Address and Route inside, and a Sysctl held in it — so refresh drops them all, and delete of
// each still succeeds.

const test = suite("drift");

test("a namespace deleted by hand reads gone, with everything in it (D2)", async () => {
  const made: { kind: keyof typeof providers; id: string; outs: any }[] = [];
  for (const [kind, args] of [
    ["Netns", { name: "d2" }],
    ["VethPair", { name: "d2-host", peerName: "d2-in", peerNetns: "d2" }],
    ["Address", { device: "d2-in", netns: "d2", address: "10.60.0.2/24" }],
    ["Route", { destination: "default", via: "10.60.0.1", netns: "d2" }],
    ["Sysctl", { key: "net.ipv4.ip_forward", value: 1, netns: "d2" }],
  ] as const) {
    const p = providers[kind];
    const { inputs, failures } = await p.check({}, { ...args, owner: owner(`d2-${kind}`) });
    assert.equal(failures ?? [], [], kind);
    const { id, outs } = await p.create(inputs);
    made.push({ kind, id, outs });
  }
  sh("ip", "netns", "del", "d2");
  for (let i = 0; i < 200 && sh("ip", "-o", "link").includes("d2-host"); i++) await new Promise((r) => setTimeout(r, 10));
  for (const { kind, id, outs } of made) assert.equal(await providers[kind].read(id, outs), {}, `${kind} reads gone`);
  for (const { kind, id, outs } of made.reverse()) await providers[kind].delete(id, outs);
});

test.run();
