import "./helpers/sandboxed";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { kernelSnapshot } from "./helpers/snapshot";

// Runs one uvu test file inside its sandbox (started by test/run.ts) and fails the file when the
// kernel snapshot after its tests differs from the one before: a test that leaks is caught in
// the file that leaked.

declare global {
  var UVU_DEFER: number;
  var UVU_QUEUE: unknown[][];
}

async function main(): Promise<void> {
  const file = path.resolve(process.argv[2] ?? "");
  globalThis.UVU_DEFER = 1;
  globalThis.UVU_QUEUE = [[path.relative(process.cwd(), file)]];
  const uvu = require("uvu") as { exec: (bail?: boolean) => Promise<void> };
  const before = kernelSnapshot();
  await import(pathToFileURL(file).href);
  await uvu.exec();
  const after = kernelSnapshot();
  if (after !== before) {
    console.error(`\n${file} left the kernel changed:\n--- before\n${before}\n--- after\n${after}`);
    process.exitCode = 1;
  }
}

void main();
