import "../helpers/sandboxed";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";

// End to end on the real kernel, in this file's sandbox: `nslab up` of the example lab (the
// nslab SDK and provider, as built in dist/), a no-op preview, refresh, and destroy, which must
// leave the kernel as it was (the harness compares snapshots after the file).

const test = suite("nslab engine on the kernel");
const root = path.resolve(__dirname, "../..");
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-kernel-"));
test.after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

function nslab(...args: string[]) {
  const argv = ["--import", "tsx", path.join(root, "engine/cli.ts"), ...args, "examples/two-namespaces", "--state-dir", stateDir, "--json"];
  const r = spawnSync(process.execPath, argv, { cwd: root, encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { steps: { op: string; type: string }[]; changeSummary: Record<string, number>; outputs?: Record<string, unknown> };
}

const netns = () => spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.trim();

test("up, a no-op preview (only `same`), refresh, destroy", () => {
  const up = nslab("up");
  assert.equal(up.changeSummary, { same: 0, create: 5, update: 0, replace: 0, delete: 0 });
  assert.match(netns(), /red-[0-9a-f]{4}/);
  const preview = nslab("preview");
  assert.ok(preview.steps.every((s) => s.op === "same"), JSON.stringify(preview.steps));
  assert.is(nslab("refresh").changeSummary.same, 5);
  assert.equal(nslab("destroy").changeSummary, { same: 0, create: 0, update: 0, replace: 0, delete: 5 });
  assert.is(netns(), "");
});

test.run();
