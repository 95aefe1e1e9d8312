import { suite } from "uvu";
import * as assert from "uvu/assert";
import { changes, Example, expectLifecycle, pings, tcp, whileListening } from "../helpers/example";

// examples/two-namespaces end to end on the kernel (a temp copy, through the built CLI): red and
// blue talk over their veth; a third namespace on a second veth from red is created alone and
// reaches red; destroy leaves the kernel as it was.

const test = suite("examples/two-namespaces");
const ex = new Example("two-namespaces");

test("up makes red and blue reach each other over the veth, by ping and TCP", async () => {
  const up = ex.run("up");
  assert.equal(changes(up), ["create blue", "create blue-ip", "create red", "create red-blue", "create red-ip"]);
  const { redNetns, blueNetns, redAddress, blueAddress } = up.outputs as Record<string, string>;
  assert.match(redNetns!, /^red-[0-9a-f]{4}$/);
  assert.match(blueNetns!, /^blue-[0-9a-f]{4}$/);
  assert.equal([redAddress, blueAddress], ["10.0.0.1/24", "10.0.0.2/24"]);
  assert.ok(pings(redNetns, "10.0.0.2"), "red -> blue");
  assert.ok(pings(blueNetns, "10.0.0.1"), "blue -> red");
  await whileListening([blueNetns], 8080, () => assert.equal(tcp(redNetns, "10.0.0.2", 8080), { server: blueNetns, peer: "10.0.0.1" }));
});

test("a third namespace on a second veth from red is created alone and reaches red; refresh, destroy and the kernel are clean", async () => {
  await expectLifecycle(ex, {
    code: `
const green = new nslab.Netns("green");
const redGreen = new nslab.VethPair("red-green", { name: "veth-green", netns: green, peerName: "veth-red2", peerNetns: red });
new nslab.Address("green-ip", { device: redGreen, address: "10.0.1.2/24" });
new nslab.Address("red2-ip", { device: redGreen.peer, address: "10.0.1.1/24" });
export const greenNetns = green.name;`,
    steps: ["create green", "create green-ip", "create red-green", "create red2-ip"],
    check: ({ redNetns, blueNetns, greenNetns }) => {
      assert.ok(pings(greenNetns as string, "10.0.1.1"), "green -> red");
      assert.ok(pings(redNetns as string, "10.0.0.2"), "red -> blue still");
      assert.not.ok(pings(blueNetns as string, "10.0.1.2"), "blue has no route to green");
    },
  });
});

test.run();
