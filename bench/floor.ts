import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { expectOnly, nslab } from "./star/engine";
import { mergeResults } from "./star/report";
import { median, seconds } from "./star/run";
import { benchMain } from "./sandboxed";

// `npm run bench:floor [-- --n 1000 --star 200 --runs 3 --out bench/results.json]` (after `npm run
// build`): the floor the SDK and the engine set, whatever the providers do. A program of N dynamic
// resources of one property whose provider does nothing (floor/program) through the built CLI:
// `nslab up` (previewing first), `nslab up --skip-preview` and `nslab destroy` of each, at N and
// at 1; from the two, the fixed cost of a run and the cost of one resource; and the time from the
// start of `up` to the first create (start-up: Node, the program, the provider host). Then the
// same for the shape of npm run bench's star at --star namespaces (floor/star: its resources,
// their property counts and dependencies), whose cost the SDK sets by its properties: the star's
// own times minus these are what nslab's providers add. Printed, and added to results.json under
// `floor`. In a throwaway sandbox, like npm run bench.

const PROGRAM = path.join(__dirname, "floor/program");
const STAR = path.join(__dirname, "floor/star");
const VARIANTS = [
  { key: "up", flags: [] as string[] },
  { key: "up_skip_preview", flags: ["--skip-preview"] },
] as const;

interface Run {
  up_s: number;
  first_create_s: number;
  destroy_s: number;
}

type Medians = Record<`${(typeof VARIANTS)[number]["key"]}_s` | `${(typeof VARIANTS)[number]["key"]}_first_create_s` | "destroy_s", number> & {
  runs: Record<string, Run>[];
};
type Size = { n: number } & Medians;

/** A program and its size: config n, and the number of resources it makes. */
interface Shape {
  program: string;
  n: number;
  resources: number;
}

async function once(shape: Shape, flags: readonly string[], work: string): Promise<Run> {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const { program, n, resources } = shape;
  const common = [program, "--stack", "floor", "--state-dir", path.join(work, "state"), "--skip-typecheck"];
  const mark = path.join(work, "first-create");
  const env = { ...process.env, NSLAB_FLOOR_MARK: mark };
  const [wall, start] = [Date.now(), performance.now()];
  expectOnly(await nslab(["up", ...common, "--config", `n=${n}`, ...flags], env), "create", resources, `floor up ${flags.join(" ")}`);
  const up = performance.now() - start;
  const first = Number(fs.readFileSync(mark, "utf8")) - wall;
  const t = performance.now();
  expectOnly(await nslab(["destroy", ...common], env), "delete", resources, "floor destroy");
  return { up_s: seconds(up), first_create_s: seconds(first), destroy_s: seconds(performance.now() - t) };
}

interface Args {
  n: number;
  star: number;
  runs: number;
  out: string;
}

const USAGE = "usage: npm run bench:floor -- [--n 1000 (at least 2)] [--star 200 (namespaces)] [--runs 3] [--out bench/results.json]";

function parseArgs(argv: string[]): Args {
  const a: Args = { n: 1000, star: 200, runs: 3, out: path.join(__dirname, "results.json") };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--out" && value) a.out = path.resolve(value);
    else if ((flag === "--n" || flag === "--star" || flag === "--runs") && Number.isInteger(Number(value)) && Number(value) >= (flag === "--n" ? 2 : 1)) a[flag.slice(2) as "n" | "star" | "runs"] = Number(value);
    else throw new Error(`bad option ${flag} ${value ?? ""}`);
  }
  return a;
}

/** Each variant of a shape, `runs` times; the medians. */
async function measure(shape: Shape, runs: number, work: string, tag: string): Promise<Medians> {
  const all: Record<string, Run>[] = [];
  for (let r = 1; r <= runs; r++) {
    const run: Record<string, Run> = {};
    for (const v of VARIANTS) {
      run[v.key] = await once(shape, v.flags, work);
      console.error(`floor ${tag} run ${r}/${runs} ${v.key}: ${JSON.stringify(run[v.key])}`);
    }
    all.push(run);
  }
  const m = (f: (r: Record<string, Run>) => number) => median(all.map(f));
  return {
    up_s: m((r) => r.up!.up_s),
    up_first_create_s: m((r) => r.up!.first_create_s),
    up_skip_preview_s: m((r) => r.up_skip_preview!.up_s),
    up_skip_preview_first_create_s: m((r) => r.up_skip_preview!.first_create_s),
    destroy_s: m((r) => r.up!.destroy_s),
    runs: all,
  };
}

async function inSandbox(a: Args): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-bench-floor-"));
  try {
    await once({ program: PROGRAM, n: 1, resources: 1 }, [], work); // untimed: the first run pays for caches (tsx's, the page cache) once
    const sizes: Size[] = [];
    for (const n of [1, a.n]) sizes.push({ n, ...(await measure({ program: PROGRAM, n, resources: n }, a.runs, work, `n=${n}`)) });
    const star = { namespaces: a.star, resources: 5 * a.star + 4 };
    const starFloor = { ...star, ...(await measure({ program: STAR, n: a.star, resources: star.resources }, a.runs, work, `star ${a.star}`)) };
    const [one, many] = sizes as [Size, Size];
    const perResource = (k: "up_s" | "up_skip_preview_s" | "destroy_s") => +(((many[k] - one[k]) / (many.n - 1)) * 1000).toFixed(2);
    const per = { up_ms: perResource("up_s"), up_skip_preview_ms: perResource("up_skip_preview_s"), destroy_ms: perResource("destroy_s") };
    const cell = (s: Medians, k: "up" | "up_skip_preview") => `${s[`${k}_s`].toFixed(2)} (first create ${s[`${k}_first_create_s`].toFixed(2)})`.padStart(28);
    const row = (label: string, s: Medians) => console.log(`${label.padEnd(24)}  ${cell(s, "up")}  ${cell(s, "up_skip_preview")}  ${s.destroy_s.toFixed(2).padStart(8)}`);
    console.log(`The floor: dynamic resources whose provider does nothing, through nslab (median of ${a.runs}, wall seconds)\n`);
    console.log(`${"program".padEnd(24)}  ${"up".padStart(28)}  ${"up --skip-preview".padStart(28)}  ${"destroy".padStart(8)}`);
    for (const s of sizes) row(`${s.n} of one property`, s);
    row(`star of ${star.namespaces} (${star.resources})`, starFloor);
    console.log(`\nper resource of one property: up ${per.up_ms} ms, up --skip-preview ${per.up_skip_preview_ms} ms, destroy ${per.destroy_ms} ms`);
    mergeResults(a.out, { floor: { sizes, per_resource: per, star: starFloor } });
    console.log(`wrote floor to ${a.out}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

benchMain(__filename, USAGE, parseArgs, inSandbox);
