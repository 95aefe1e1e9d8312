import * as fs from "node:fs";
import * as path from "node:path";
import { resourceCount, STACK } from "./lab";
import { runCommand, type Method } from "./method";

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
export async function nslab(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Json> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  return JSON.parse(await runCommand(process.execPath, [CLI, ...argv, "--json"], { cwd: root, env })) as Json;
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

const common = (work: string) => [PROGRAM, "--stack", STACK, "--state-dir", path.join(work, "state"), "--skip-typecheck"];

/** The star through `nslab up` (previewing first, the default, or with --skip-preview) and `nslab destroy`. */
export function engine(skipPreview: boolean): Method {
  const name = skipPreview ? "nslab-engine-skip-preview" : "nslab-engine";
  return {
    name,
    async up(n, work) {
      expectOnly(await nslab(["up", ...common(work), "--config", `n=${n}`, ...(skipPreview ? ["--skip-preview"] : [])]), "create", resourceCount(n), `${name} up`);
      return async () => expectOnly(await nslab(["destroy", ...common(work)]), "delete", resourceCount(n), `${name} destroy`);
    },
    warmUp,
    async recover(_n, work) {
      await nslab(["destroy", ...common(work)]);
    },
  };
}
