import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { kernelSnapshot } from "../../test/helpers/snapshot";
import { expectOnly, nslab } from "./engine";
import { median, seconds } from "./run";
import { verifyClean } from "./verify";

// A small lab's fixed cost, as a user meets it: examples/two-namespaces (2 namespaces, a veth
// pair, 2 addresses) through the built CLI. `up` of a new stack (a fresh state directory, so the
// type check runs too: nothing is cached for it), then `preview` of the unchanged stack, then
// `destroy`; the kernel must be as before. In the bench it is the method `two-namespaces`.

export const EXAMPLE = "two-namespaces";
const DIR = path.resolve(__dirname, "../../examples", EXAMPLE);
const RESOURCES = 5;

export interface ExampleRun {
  up_s: number;
  preview_s: number;
  destroy_s: number;
}

export interface ExampleRow extends ExampleRun {
  example: string;
  runs: ExampleRun[];
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await f();
  return [seconds(performance.now() - start), value];
}

export async function smallLab(runs: number, work: string, log: (line: string) => void): Promise<ExampleRow> {
  const pristine = kernelSnapshot();
  const all: ExampleRun[] = [];
  for (let r = 1; r <= runs; r++) {
    const stateDir = path.join(work, `${EXAMPLE}-${r}`);
    fs.rmSync(stateDir, { recursive: true, force: true });
    const common = [DIR, "--state-dir", stateDir];
    const tag = `${EXAMPLE} run ${r}/${runs}`;
    const [up, made] = await timed(() => nslab(["up", ...common]));
    expectOnly(made, "create", RESOURCES, `${tag} up`);
    const [preview, planned] = await timed(() => nslab(["preview", ...common]));
    expectOnly(planned, "same", RESOURCES, `${tag} preview`);
    const [destroy, gone] = await timed(() => nslab(["destroy", ...common]));
    expectOnly(gone, "delete", RESOURCES, `${tag} destroy`);
    verifyClean(pristine, tag);
    log(`${tag}: up of a new stack ${up.toFixed(2)} s, no-op preview ${preview.toFixed(2)} s, destroy ${destroy.toFixed(2)} s; clean`);
    all.push({ up_s: up, preview_s: preview, destroy_s: destroy });
  }
  const m = (k: keyof ExampleRun) => median(all.map((x) => x[k]));
  return { example: EXAMPLE, up_s: m("up_s"), preview_s: m("preview_s"), destroy_s: m("destroy_s"), runs: all };
}

/** The lines of the report: the figures against their targets. */
export function exampleLines(row: ExampleRow, runs: number): string[] {
  const check = (what: string, value: number, bound: number) => `  ${what}: ${value.toFixed(2)} s (target <= ${bound} s) ${value <= bound ? "met" : "NOT met"}`;
  return [
    `examples/${row.example}, median of ${runs} run(s), wall seconds (destroy ${row.destroy_s.toFixed(2)} s):`,
    check("nslab up of a new stack (type check included)", row.up_s, 1.5),
    check("nslab preview of the unchanged stack", row.preview_s, 1.0),
  ];
}
