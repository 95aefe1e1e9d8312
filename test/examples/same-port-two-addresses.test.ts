import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { changes, Example, expectLifecycle } from "../helpers/example";
import { clientsIn, httpGet } from "../helpers/http";

// examples/same-port-two-addresses end to end on the kernel (a temp copy, through the built CLI):
// two containers' web servers on port 80, each reached from the lan through port 80 of its own
// host address (the server's log shows the lan's address: DNAT only, no SNAT); green's link is
// shaped both ways. Then a shaping of the lan's own link is added alone.

const test = suite("examples/same-port-two-addresses");
const ex = new Example("same-port-two-addresses");

interface Container {
  netns: string;
  address: string;
  published: string;
  log: string;
}
let lan = "";
let blue: Container;
let green: Container;

const rootQdisc = (netns: string | undefined, dev: string) =>
  (JSON.parse(execFileSync("tc", [...(netns ? ["-n", netns] : []), "-j", "qdisc", "show", "dev", dev], { encoding: "utf8" })) as { kind: string; options?: { rate?: number } }[])[0]!;

async function served(from: string, url: string, c: Container): Promise<[string, string | undefined]> {
  const page = await httpGet(from, url);
  return [page, clientsIn(fs.readFileSync(c.log, "utf8")).pop()];
}

test("up: port 80 of each host address reaches its own container's web server from the lan; green's link is shaped both ways", async () => {
  const up = ex.run("up");
  assert.ok(changes(up).includes("create blue-server") && changes(up).includes("create apps-green-shaping-in") && changes(up).includes("create apps-green-shaping-out"));
  assert.ok(!changes(up).some((c) => c.startsWith("create apps-blue-shaping")), "blue is not shaped");
  ({ lanNetns: lan, blue, green } = up.outputs as { lanNetns: string; blue: Container; green: Container });
  assert.equal([blue.published, green.published], ["198.51.100.1:80", "198.51.100.2:80"]);
  assert.equal(await served(lan, "http://198.51.100.1/", blue), ["hello from blue\n", "198.51.100.100"]);
  assert.equal(await served(lan, "http://198.51.100.2/", green), ["hello from green\n", "198.51.100.100"]);
  const greenInside = rootQdisc(green.netns, "eth0");
  assert.equal([greenInside.kind, greenInside.options?.rate], ["tbf", 1_000_000], "8mbit out of green");
  assert.is(rootQdisc(blue.netns, "eth0").kind, "noqueue");
});

test("a shaping of the lan's link is created alone and the containers still answer; refresh, destroy and the kernel are clean", async () => {
  await expectLifecycle(ex, {
    code: `new nslab.TrafficControl("lan-slow", { device: uplink.peer, rate: "16mbit" });`,
    steps: ["create lan-slow"],
    check: async () => {
      assert.is(rootQdisc(lan, "eth0").options?.rate, 2_000_000);
      assert.equal(await served(lan, "http://198.51.100.2/", green), ["hello from green\n", "198.51.100.100"]);
    },
  });
});

test.run();
