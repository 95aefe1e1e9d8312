import * as fs from "node:fs";
import * as path from "node:path";

// The program's Pulumi runtime (the `cmd/run` of `pulumi up`, or of nslab's engine) and the
// @pulumi/pulumi nslab loads must be one and the same copy, of the version nslab is written for:
// with two copies (a lab that links nslab from a clone, which has its own node_modules) nslab's
// resources register with a runtime that is not connected to the engine, and nothing happens.

const WANTED = "3.248.0";

/** The directory of the package `file` is in (the nearest one above it with a package.json), real path. */
export function packageDir(file: string): string {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return fs.realpathSync(dir);
  }
  return path.dirname(file);
}

/** Why the program cannot use nslab under its runtime, with the fix; undefined when it can. */
export function runtimeProblem(main: string | undefined, sdkPackageJson: string): string | undefined {
  const ours = packageDir(sdkPackageJson);
  const version = (JSON.parse(fs.readFileSync(sdkPackageJson, "utf8")) as { version: string }).version;
  if (version !== WANTED) return `nslab needs @pulumi/pulumi ${WANTED}, found ${version} in ${ours}: npm install @pulumi/pulumi@${WANTED}`;
  if (!main || !/[\\/]@pulumi[\\/]pulumi[\\/]cmd[\\/]run[\\/]/.test(main)) return undefined;
  const running = packageDir(main);
  if (running === ours) return undefined;
  return (
    `nslab loads @pulumi/pulumi from ${ours} but the program runs under the one in ${running}: two copies of the SDK, ` +
    `so nslab's resources would never reach the engine. Install nslab as a package (npm pack in its clone, then npm install the .tgz), not as a link to a clone`
  );
}

const problem = runtimeProblem(require.main?.filename, require.resolve("@pulumi/pulumi/package.json"));
if (problem) throw new Error(problem);
