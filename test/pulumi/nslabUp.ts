import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nslab } from "../helpers/example";
import { kernelSnapshot } from "../helpers/snapshot";

// Inside a sandbox of its own (test/helpers/pulumi.ts, upInOwnSandbox): `nslab up DIR` on a fresh
// state, then the stack's outputs and the kernel snapshot as one JSON line, then `nslab destroy`:
// the sandbox takes its namespaces with it when this process ends, not the processes a Process started.

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-up-"));
const up = nslab("up", process.argv[2]!, stateDir);
const snapshot = kernelSnapshot();
nslab("destroy", process.argv[2]!, stateDir);
fs.rmSync(stateDir, { recursive: true, force: true });
console.log(JSON.stringify({ outputs: up.outputs, snapshot }));
