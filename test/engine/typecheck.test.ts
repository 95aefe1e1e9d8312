import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { nodePath } from "../../engine/deploy";
import { loadProject } from "../../engine/project";
import { typeErrors } from "../../engine/typecheck";

// The type check (docs/engine.md, "Running the program"): a program without a tsconfig.json of
// its own is checked as a Node program, and a program that passed is checked again when a file
// tsc read for it changed, a dependency's declarations included.

const test = suite("type check");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-typecheck-"));
const cache = path.join(dir, ".nslab");
const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
};
const check = () => typeErrors(loadProject(dir, "dev", {}), nodePath(), cache);
const stamp = () => fs.readdirSync(cache).filter((f) => f.startsWith("typechecked-")).map((f) => fs.statSync(path.join(cache, f)).mtimeMs);
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test("a program without a tsconfig.json has Node's globals and libraries, not the browser's", async () => {
  write("Pulumi.yaml", "name: typed\nruntime: nodejs\n");
  write("index.ts", ['import * as pulumi from "@pulumi/pulumi";', "export const at = new URL(\"http://a/\").host + setTimeout.name + [1].findLast((x) => x) + typeof fetch;", "pulumi.log.info(at);"].join("\n"));
  assert.is(await check(), undefined);
  write("index.ts", "export const title = document.title;\n");
  assert.match((await check()) ?? "", /index\.ts\(1,22\): error TS2584: Cannot find name 'document'/);
});

test("a program that passed is not checked again until its sources or a declaration tsc read for it change", async () => {
  write("node_modules/shapes/package.json", JSON.stringify({ name: "shapes", types: "index.d.ts" }));
  write("node_modules/shapes/index.d.ts", "export declare const sides: number;\n");
  write("index.ts", 'import { sides } from "shapes";\nexport const n: number = sides;\n');
  assert.is(await check(), undefined);
  const passed = stamp();
  assert.is(await check(), undefined);
  assert.equal(stamp(), passed, "an unchanged program is not checked again");
  write("node_modules/shapes/index.d.ts", "export declare const sides: string;\n");
  const report = (await check()) ?? "";
  assert.match(report, /index\.ts\(2,14\): error TS2322: Type 'string' is not assignable to type 'number'/);
  assert.not.match(report, /^\//m, "the report does not list the files tsc read");
  write("node_modules/shapes/index.d.ts", "export declare const sides: number;\n");
  assert.is(await check(), undefined);
});

test.run();
