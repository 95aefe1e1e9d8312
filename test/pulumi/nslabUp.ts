import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { argv, type Config, type Json, ROOT } from "../helpers/example";
import { kernelSnapshot, sandboxProcesses } from "../helpers/snapshot";

// Inside a sandbox of its own (test/helpers/pulumi.ts, upInOwnSandbox): `nslab up DIR` (with the
// config given as JSON) on a fresh state (--skip-preview: the ring compares the previews on their
// own), then the stack's outputs and the kernel snapshot as one JSON line. The sandbox takes the
// lab's namespaces with it when this process ends, not the processes a Process started: killed here.

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-up-"));
const r = spawnSync(process.execPath, [...argv("up", process.argv[2]!, stateDir, JSON.parse(process.argv[3]!) as Config), "--skip-preview"], { cwd: ROOT, encoding: "utf8" });
if (r.status !== 0) throw new Error(`nslab up exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
const snapshot = kernelSnapshot();
for (const { pid } of sandboxProcesses()) process.kill(pid, "SIGKILL");
fs.rmSync(stateDir, { recursive: true, force: true });
console.log(JSON.stringify({ outputs: (JSON.parse(r.stdout) as Json).outputs, snapshot }));
