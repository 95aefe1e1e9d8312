import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// `npm run -s pulumi:cli`: the official Pulumi CLI v3.248.0, built once from its Go modules (Go
// module proxy) and cached by version; prints the directory holding `pulumi` as its last line.
//
// - pulumi: the wrapper module here (go.mod, tools.go) requires github.com/pulumi/pulumi/pkg/v3 and
//   sdk/v3 v3.248.0 and builds pkg/v3/cmd/pulumi with the release build's version flag. `go install
//   …@v3.248.0` cannot: pkg's go.mod has a replace (atotto/clipboard), copied here. go.sum is
//   committed, so the checksum database is only asked about what it does not list.
// - pulumi-language-nodejs: the one deviation from a release build. Since v3.69 the Node language
//   host is its own module (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3), and
//   the Go module proxy refuses every version of it (403 "not available", empty @v/list). Up to
//   v3.68.0 it was a package of sdk/v3, which the proxy serves, so language-nodejs/ builds Pulumi's
//   own host from sdk/v3 v3.68.0 (a module of its own: one build cannot hold two sdk/v3). Against
//   the v3.248.0 engine it differs in what the engine already tolerates: no Handshake or
//   GetRequiredPackages (the engine falls back to GetRequiredPlugins), Pulumi.yaml's runtime
//   options (typescript, tsconfig, nodeargs) are not read (TypeScript stays on, tsconfig.json is
//   taken from the project directory), and its ResourceMonitor proxy lacks the RPCs added since
//   (SignalAndWaitForShutdown, which the SDK treats as an older CLI; hooks and stack transforms,
//   which nslab does not use). It launches the program as the current host does: node
//   @pulumi/pulumi/cmd/run with --monitor/--engine/--sync/--project/--stack/--pwd/--dry-run.
// - pulumi-resource-pulumi-nodejs: the dynamic-provider launcher @pulumi/pulumi ships, put beside
//   `pulumi` as a release archive has it (it resolves @pulumi/pulumi from the project it runs in).

export const PULUMI_VERSION = "v3.248.0";
const LANGUAGE_HOST_VERSION = "v3.68.0";

/** Where the built CLI lives: outside the repository (the user's cache directory), by version. */
export const pulumiCliDir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "nslab", `pulumi-${PULUMI_VERSION}`, "bin");

const here = __dirname;
const versionFlag = (v: string) => `-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${v}`;
const shim = "pulumi-resource-pulumi-nodejs";

/** What is wrong with the cached CLI, or undefined when it is complete and the right version. */
export function cacheProblem(dir = pulumiCliDir): string | undefined {
  for (const f of ["pulumi", "pulumi-language-nodejs", shim]) {
    if (!fs.existsSync(path.join(dir, f))) return `${path.join(dir, f)} is missing`;
  }
  const r = spawnSync(path.join(dir, "pulumi"), ["version"], { encoding: "utf8", env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
  const version = r.stdout?.trim();
  return version === PULUMI_VERSION ? undefined : `${dir}/pulumi version prints "${version}${r.stderr ?? ""}", not ${PULUMI_VERSION}`;
}

function goBuild(moduleDir: string, pkg: string, version: string, out: string): void {
  const tmp = `${out}.tmp-${process.pid}`;
  const argv = ["build", "-o", tmp, "-ldflags", versionFlag(version), pkg];
  console.error(`pulumi:cli: (cd ${path.relative(process.cwd(), moduleDir) || "."} && go ${argv.join(" ")})`);
  const r = spawnSync("go", argv, { cwd: moduleDir, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, GOFLAGS: "-mod=mod" } });
  if (r.error || r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`go ${argv.join(" ")} in ${moduleDir} failed (${r.error?.message ?? `exit ${r.status}`})`);
  }
  fs.renameSync(tmp, out);
}

function build(): void {
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
  } catch {
    throw new Error("pulumi:cli needs Go >= 1.25 on PATH to build the Pulumi CLI (apt-get install golang-go, or https://go.dev/dl), and the Go module proxy");
  }
  fs.mkdirSync(pulumiCliDir, { recursive: true });
  goBuild(here, "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi", PULUMI_VERSION, path.join(pulumiCliDir, "pulumi"));
  goBuild(path.join(here, "language-nodejs"), "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs", LANGUAGE_HOST_VERSION, path.join(pulumiCliDir, "pulumi-language-nodejs"));
  fs.copyFileSync(require.resolve(`@pulumi/pulumi/${shim}`), path.join(pulumiCliDir, shim));
  fs.chmodSync(path.join(pulumiCliDir, shim), 0o755);
}

if (require.main === module) {
  try {
    if (cacheProblem()) build();
    const problem = cacheProblem();
    if (problem) throw new Error(`the build finished but ${problem}`);
    console.log(pulumiCliDir);
  } catch (e) {
    console.error(`pulumi:cli: ${(e as Error).message}`);
    process.exit(1);
  }
}
