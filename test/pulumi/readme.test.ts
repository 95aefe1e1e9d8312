import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ROOT } from "../helpers/example";
import { kernelSnapshot } from "../helpers/snapshot";

// The README's "Running it with `pulumi up`" steps, run as written (bash -e, from the clone) by a
// user whose home is a fresh directory: the lab is made outside the repository, installs nslab
// from its tarball and @pulumi/pulumi, and `pulumi up` / `pulumi destroy` work. Only the
// environment differs from a user's: offline switches, PULUMI_HOME, npm's own cache, `npm pack` without
// the prepare script (dist/ is built by `npm test`; rebuilding it would race the other files).

const test = suite("pulumi/readme");

function steps(): string {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Running it with `pulumi up`"));
  return section.match(/```sh\n([\s\S]*?)```/)![1]!;
}

test("the README's steps make a lab outside the repository that pulumi up creates and pulumi destroy removes", () => {
  const before = kernelSnapshot();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-readme-"));
  process.on("exit", () => fs.rmSync(home, { recursive: true, force: true }));
  const env = {
    ...process.env,
    NSLAB: ROOT,
    HOME: home,
    PULUMI_HOME: path.join(home, ".pulumi"), // else the CLI's own files go to the passwd entry's home
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
    npm_config_cache: path.join(os.homedir(), ".npm"),
    npm_config_prefer_offline: "true",
    npm_config_ignore_scripts: "true",
    npm_config_audit: "false",
    npm_config_fund: "false",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
  const r = spawnSync("bash", ["-e", "-c", steps()], { cwd: ROOT, env, encoding: "utf8", maxBuffer: 64 << 20 });
  assert.is(r.status, 0, `the README's steps exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  assert.ok(fs.existsSync(path.join(home, "mylab", "node_modules", "nslab", "package.json")), "the lab installed nslab");
  assert.not.ok(fs.lstatSync(path.join(home, "mylab", "node_modules", "nslab")).isSymbolicLink(), "as a package, not a link");
  assert.match(r.stdout, /\+ 6 created/, "pulumi up created the lab");
  assert.match(r.stdout, /- 6 deleted/, "pulumi destroy removed it");
  assert.fixture(kernelSnapshot(), before, "the kernel after pulumi destroy");
});

test.run();
