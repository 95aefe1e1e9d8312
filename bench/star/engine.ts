import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { resourceCount, STACK } from "./lab";
import type { Method } from "./method";

// The `nslab-engine` methods: the star as a Pulumi program (program/) through the built CLI,
// `nslab up` then `nslab destroy`, each a whole process run end to end, as a user runs them.

const root = path.resolve(__dirname, "../..");
export const CLI = path.join(root, "dist/engine/cli.js");
const PROGRAM = path.join(__dirname, "program");

export interface Json {
  changeSummary: Record<"same" | "create" | "update" | "replace" | "delete", number>;
  failed: boolean;
}

/** Runs `node dist/engine/cli.js ...argv --json`, which must exit 0; its JSON answer. */
export function nslab(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Json> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...argv, "--json"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as Json);
      else reject(new Error(`nslab ${argv.join(" ")} exited ${code}:\n${stderr.trimEnd()}\n${stdout.slice(-2000)}`));
    });
  });
}

/** Fails unless the run did `count` steps of kind `op` and nothing else. */
export function expectOnly(j: Json, op: keyof Json["changeSummary"], count: number, what: string): void {
  const expected = { same: 0, create: 0, update: 0, replace: 0, delete: 0, [op]: count };
  if (JSON.stringify(j.changeSummary) !== JSON.stringify(expected)) {
    throw new Error(`${what}: changeSummary ${JSON.stringify(j.changeSummary)}, expected ${JSON.stringify(expected)}`);
  }
}

/** A preview loads and compiles everything an up does (tsx's cache, the page cache). */
async function warmUp(work: string): Promise<void> {
  await nslab(["preview", PROGRAM, "--stack", STACK, "--state-dir", path.join(work, "warm-up"), "--skip-typecheck", "--config", "n=2"]);
}

/** The star through `nslab up` (previewing first, the default, or with --skip-preview) and `nslab destroy`. */
export function engine(skipPreview: boolean): Method {
  const name = skipPreview ? "nslab-engine-skip-preview" : "nslab-engine";
  return {
    name,
    async up(n, work) {
      const common = [PROGRAM, "--stack", STACK, "--state-dir", path.join(work, "state"), "--skip-typecheck"];
      expectOnly(await nslab(["up", ...common, "--config", `n=${n}`, ...(skipPreview ? ["--skip-preview"] : [])]), "create", resourceCount(n), `${name} up`);
      return async () => expectOnly(await nslab(["destroy", ...common]), "delete", resourceCount(n), `${name} destroy`);
    },
    warmUp,
  };
}
