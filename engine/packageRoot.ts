import * as fs from "node:fs";
import * as path from "node:path";

// Where this package is installed, from the sources (engine/) and from the build (dist/engine/)
// alike: the nearest directory above this file with a package.json.

function find(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
  }
  throw new Error(`nslab: no package.json above ${__dirname}`);
}

export const packageRoot = find();

export const packageVersion = (JSON.parse(fs.readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
