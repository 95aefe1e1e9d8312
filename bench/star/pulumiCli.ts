import * as fs from "node:fs";
import * as path from "node:path";
import { PulumiStack } from "../../test/helpers/pulumi";
import { resourceCount } from "./lab";
import { runCommand, type Method } from "./method";

// The `pulumi-cli` method: the star program (program/) through the real Pulumi CLI v3.248.0
// (`npm run -s pulumi:cli`), `pulumi up --yes` then `pulumi destroy --yes` with their default
// --parallel, a file backend, as a user runs them. One stack per N, made (login, stack init,
// config n) before its first run and empty again after each destroy.

const PROGRAM = path.join(__dirname, "program");
const stacks = new Map<number, PulumiStack>();

function stackFor(n: number): PulumiStack {
  let stack = stacks.get(n);
  if (!stack) {
    // A copy of the program: stack init and config write Pulumi.<stack>.yaml into the project.
    const dir = fs.mkdtempSync(path.join(path.dirname(PROGRAM), `.pulumi-cli-${n}-`));
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    for (const f of ["Pulumi.yaml", "index.ts", "package.json"]) fs.copyFileSync(path.join(PROGRAM, f), path.join(dir, f));
    stack = new PulumiStack(dir, "bench");
    stack.cli("config", "set", "n", String(n));
    stacks.set(n, stack);
  }
  return stack;
}

/** Runs `pulumi ARGS` (not blocking: the bench watches /run/netns meanwhile); its JSON summary line's changes. */
async function pulumi(stack: PulumiStack, work: string, ...args: string[]): Promise<Record<string, number>> {
  const [file, ...argv] = stack.argv(...args, "--json");
  // A failed run names its cause in its error diagnostics, among a thousand other events.
  const failing = (line: string) => line.includes('"diagnosticEvent"') && line.includes('"severity":"error"');
  const stdout = await runCommand(file!, argv, { cwd: stack.dir, env: stack.env, work, failing });
  const summary = stdout.split("\n").find((l) => l.includes('"summaryEvent"'));
  if (!summary) throw new Error(`pulumi ${args.join(" ")} printed no summaryEvent:\n${stdout.slice(-2000)}`);
  return (JSON.parse(summary) as { summaryEvent: { resourceChanges: Record<string, number> } }).summaryEvent.resourceChanges;
}

/** Fails unless the run did `count` steps of kind `op` (and the Stack's) and nothing else. */
function expectOnly(changes: Record<string, number>, op: string, count: number, what: string): void {
  const expected = JSON.stringify({ [op]: count + 1 });
  if (JSON.stringify(changes) !== expected) throw new Error(`${what}: resourceChanges ${JSON.stringify(changes)}, expected ${expected} (the Stack counts)`);
}

export const pulumiCli: Method = {
  name: "pulumi-cli",
  async up(n, work) {
    const stack = stackFor(n);
    expectOnly(await pulumi(stack, work, "up", "--yes"), "create", resourceCount(n), "pulumi-cli up");
    return async () => expectOnly(await pulumi(stack, work, "destroy", "--yes"), "delete", resourceCount(n), "pulumi-cli destroy");
  },
};
