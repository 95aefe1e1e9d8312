import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { runtimeProblem } from "../../sdk/internal/runtime";

// The SDK's check of the Pulumi runtime it runs under (sdk/internal/runtime.ts): the version it is
// written for, and one copy of @pulumi/pulumi shared with the program's `cmd/run`.

const test = suite("runtimeProblem");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-runtime-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fake node_modules/@pulumi/pulumi of `version` under `dir`; its package.json and cmd/run/index.js. */
function sdk(dir: string, version: string): { packageJson: string; run: string } {
  const root = path.join(tmp, dir, "node_modules", "@pulumi", "pulumi");
  fs.mkdirSync(path.join(root, "cmd", "run"), { recursive: true });
  fs.writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "@pulumi/pulumi", version }));
  fs.writeFileSync(path.join(root, "cmd", "run", "index.js"), "");
  return { packageJson: path.join(root, "package.json"), run: path.join(root, "cmd", "run", "index.js") };
}

test("none under the runtime of the same copy, or outside any Pulumi runtime", () => {
  const lab = sdk("lab", "3.248.0");
  assert.is(runtimeProblem(lab.run, lab.packageJson), undefined);
  assert.is(runtimeProblem("/somewhere/test/harness.ts", lab.packageJson), undefined);
});

test("a second copy of @pulumi/pulumi: names both and the fix", () => {
  const lab = sdk("lab", "3.248.0");
  const clone = sdk("clone", "3.248.0");
  const problem = runtimeProblem(lab.run, clone.packageJson);
  assert.match(problem ?? "", "two copies of the SDK");
  assert.match(problem ?? "", path.join(tmp, "clone"));
  assert.match(problem ?? "", path.join(tmp, "lab"));
  assert.match(problem ?? "", "npm pack");
});

test("another version of @pulumi/pulumi: names it and the install that fixes it", () => {
  const lab = sdk("old", "3.200.0");
  assert.is(runtimeProblem(lab.run, lab.packageJson), `nslab needs @pulumi/pulumi 3.248.0, found 3.200.0 in ${fs.realpathSync(path.dirname(lab.packageJson))}: npm install @pulumi/pulumi@3.248.0`);
});

test.run();
