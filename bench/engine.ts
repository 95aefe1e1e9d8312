import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { sandboxed } from "./sandboxed";

// `node --import tsx bench/engine.ts [RUNS]` (after `npm run build`): the wall time of the built
// `nslab` CLI's up (creating everything; up previews first unless --skip-preview), a no-op
// preview, a no-op up (with and without its preview) and destroy on the real
// kernel, for the lab of test/engine/fixtures/scale with 1 and 12 namespaces (4 and 48
// resources), with --skip-typecheck and with a warm type check; the median of RUNS, and from
// the two sizes the fixed cost of a run and the cost of one resource. In a throwaway sandbox.

const root = path.resolve(__dirname, "..");
const cli = path.join(root, "dist/engine/cli.js");
const fixture = path.join(root, "test/engine/fixtures/scale");
const SIZES = [1, 12];
// In this order, from an empty stack: the no-op runs find the lab `up` made.
const OPS = ["up", "preview", "up (no-op)", "up --skip-preview (no-op)", "destroy", "up --skip-preview", "destroy (2)"] as const;
const SHOWN = OPS.filter((op) => op !== "destroy (2)");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed(label: string, n: number, stateDir: string, typecheck: boolean): number {
  const [op, flag] = label.split(" ");
  const argv = [cli, op!, fixture, "--state-dir", stateDir, "--json", "--config", `n=${n}`, ...(flag?.startsWith("--") ? [flag] : []), ...(typecheck ? [] : ["--skip-typecheck"])];
  const start = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd: root, encoding: "utf8" });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`nslab ${label} (n=${n}) exited ${r.status}:\n${r.stderr}`);
  return ms;
}

function inSandbox(runs: number): void {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-bench-"));
  try {
    const cold = timed("preview", 1, stateDir, true);
    console.log(`cold type check + preview of 4 resources: ${cold.toFixed(0)} ms`);
    for (const typecheck of [false, true]) {
      const times = new Map<string, number[]>();
      for (let run = 0; run < runs; run++) {
        for (const n of SIZES) {
          for (const op of SHOWN) {
            const ms = timed(op, n, stateDir, typecheck);
            const key = `${op}/${n}`;
            times.set(key, [...(times.get(key) ?? []), ms]);
          }
        }
      }
      console.log(`\n${typecheck ? "warm type check" : "--skip-typecheck"} (median of ${runs}, ms):`);
      console.log(`  ${"operation".padEnd(26)} ${SIZES.map((n) => `${4 * n} res`.padStart(8)).join(" ")}   fixed  per resource`);
      for (const op of SHOWN) {
        const [small, large] = SIZES.map((n) => median(times.get(`${op}/${n}`)!)) as [number, number];
        const per = (large - small) / (4 * (SIZES[1]! - SIZES[0]!));
        const fixed = small - 4 * SIZES[0]! * per;
        console.log(`  ${op.padEnd(26)} ${[small, large].map((t) => t.toFixed(0).padStart(8)).join(" ")}   ${fixed.toFixed(0).padStart(5)}  ${per.toFixed(1).padStart(12)}`);
      }
    }
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

const runs = Number(process.argv[2] ?? 3);
sandboxed(__filename, async () => inSandbox(runs));
