import "../helpers/sandboxed";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";

// The README's first command: `nslab sandbox <example>` runs the lab through the engine in a
// throwaway sandbox of its own (here nested inside the test's sandbox, whose kernel snapshot the
// harness checks).

const root = path.resolve(__dirname, "../..");
const cli = path.join(root, "dist/engine/cli.js");

function nslab(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8" });
}

const test = suite("nslab command");

test("sandbox runs an example: creates it, shows it, pings across it, destroys it", () => {
  const r = nslab("sandbox", "examples/two-namespaces");
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /\+ +create +pulumi-nodejs:dynamic\/nslab:Netns +red\n/);
  assert.match(r.stdout, /Resources: 5 created/);
  assert.match(r.stdout, /\[netns red-[0-9a-f]{4}\]/);
  assert.match(r.stdout, /red-[0-9a-f]{4} -> 10\.0\.0\.2 \(blue-[0-9a-f]{4}\): ok/);
  assert.match(r.stdout, /- +delete +pulumi-nodejs:dynamic\/nslab:Address +red-ip\n/);
  assert.match(r.stdout, /Resources: 5 deleted/);
});

test("fails with usage (exit 2) on an unknown command or a directory without Pulumi.yaml", () => {
  const unknown = nslab("launch");
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, /usage: nslab sandbox/);
  const notProject = nslab("sandbox", "test");
  assert.is(notProject.status, 2);
  assert.match(notProject.stderr, /test is not a Pulumi project \(no Pulumi.yaml\)/);
});

test.run();
