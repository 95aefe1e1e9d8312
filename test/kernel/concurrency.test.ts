import * as fs from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { netns } from "../../provider/resources/netns";
import { checked, created, owner } from "../helpers/kernel";

// Pulumi creates resources in parallel: creates of distinct objects must all succeed (C1), and
// twin creates of one object must leave exactly one, every call succeeding (C2).

const test = suite("concurrency");

test("20 parallel creates of distinct namespaces all succeed (C1)", async () => {
  const inputs = await Promise.all(Array.from({ length: 20 }, (_, i) => checked(netns, { name: `c1-${i}`, owner: owner(`c1-${i}`) })));
  const results = await Promise.all(inputs.map((i) => created(netns, i)));
  assert.is(fs.readdirSync("/run/netns").length, 20);
  await Promise.all(results.map((r) => netns.delete(r.id, r.outs)));
  assert.is(fs.readdirSync("/run/netns").length, 0);
});

test("20 parallel creates of the same namespace by its owner leave one, all succeeding (C2)", async () => {
  const inputs = await checked(netns, { name: "twin", owner: owner("twin") });
  const results = await Promise.all(Array.from({ length: 20 }, () => created(netns, inputs)));
  assert.equal(new Set(results.map((r) => r.outs.identity)).size, 1);
  assert.equal(fs.readdirSync("/run/netns"), ["twin"]);
  await netns.delete(results[0]!.id, results[0]!.outs);
});

test.run();
