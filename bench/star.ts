import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { engine } from "./star/engine";
import { EXAMPLE, exampleLines, smallLab } from "./star/example";
import type { Method } from "./star/method";
import { provider } from "./star/provider";
import { pulumiCli } from "./star/pulumiCli";
import { mergeResults, svg, table } from "./star/report";
import { runStar } from "./star/run";
import { benchMain } from "./sandboxed";
import { ipBatch, shellNaive } from "./star/shell";

// `npm run bench [-- --sizes 10,50,200 --runs 3 --methods a,b --out bench/results.json]`
// (after `npm run build`): the star lab (bench/star/lab.ts) built and torn down by each method,
// every run verified and checked clean, in a throwaway sandbox (re-executed into one unless
// already inside one); the table on stdout, the results as JSON and a chart beside it (.svg).
// --cpu-prof DIR: the nslab runs' Node processes write CPU profiles there (bench/star/profile.ts).
// The method two-namespaces is the small lab's fixed cost (star/example.ts), after the star.

const METHODS: Method[] = [engine(false), engine(true), provider, shellNaive, ipBatch, pulumiCli];

const NAMES = [...METHODS.map((m) => m.name), EXAMPLE];
const USAGE = `usage: npm run bench -- [--sizes 10,50,200] [--runs 3] [--methods ${NAMES.join(",")}] [--max-n METHOD=N,...] [--out bench/results.json] [--cpu-prof DIR]`;

interface Args {
  sizes: number[];
  runs: number;
  methods: Method[];
  /** --max-n: the largest N a method runs at, by name. */
  maxN: Record<string, number>;
  /** Measure examples/two-namespaces too. */
  example: boolean;
  out: string;
  /** Where the nslab runs' Node processes write V8 CPU profiles (bench/star/profile.ts reads them). */
  cpuProf?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { sizes: [10, 50, 200], runs: 3, methods: METHODS, maxN: {}, example: true, out: path.join(__dirname, "results.json") };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--sizes") {
      a.sizes = value.split(",").map(Number);
      if (a.sizes.some((n) => !Number.isInteger(n) || n < 2)) throw new Error(`--sizes ${value}: use integers of at least 2 (the check pings namespace 0 to 1), e.g. 10,50,200`);
    } else if (flag === "--runs") {
      a.runs = Number(value);
      if (!Number.isInteger(a.runs) || a.runs < 1) throw new Error(`--runs ${value}: use a positive integer`);
    } else if (flag === "--methods") {
      const names = value.split(",");
      for (const name of names) if (!NAMES.includes(name)) throw new Error(`--methods: unknown method ${name}; the methods are ${NAMES.join(", ")}`);
      a.methods = METHODS.filter((m) => names.includes(m.name));
      a.example = names.includes(EXAMPLE);
    } else if (flag === "--max-n") {
      for (const pair of value.split(",")) {
        const [name, n] = pair.split("=");
        if (!NAMES.includes(name!) || !Number.isInteger(Number(n)) || Number(n) < 2) throw new Error(`--max-n ${pair}: use METHOD=N with one of ${NAMES.join(", ")}, e.g. pulumi-cli=200`);
        a.maxN[name!] = Number(n);
      }
    } else if (flag === "--out") a.out = path.resolve(value);
    else if (flag === "--cpu-prof") a.cpuProf = path.resolve(value);
    else throw new Error(`unknown option ${flag}`);
  }
  return a;
}

async function inSandbox(a: Args): Promise<void> {
  if (a.cpuProf) {
    fs.mkdirSync(a.cpuProf, { recursive: true });
    Object.assign(process.env, { NSLAB_CPU_PROF_DIR: a.cpuProf, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${path.join(__dirname, "star/cpuprof.js")}` });
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-bench-star-"));
  console.error(`bench: each method's scripts and state are in ${work}/<method>-<N>/ (up.sh and down.sh for the shell methods)`);
  const log = (line: string) => console.error(line);
  const rows = a.methods.length ? await runStar({ ...a, work, log }) : [];
  const example = a.example ? await smallLab(a.runs, work, log) : undefined;
  if (rows.length) console.log(table(rows, a.runs));
  if (example) console.log(["", ...exampleLines(example, a.runs)].join("\n"));
  mergeResults(a.out, { ...(rows.length ? { results: rows } : {}), ...(example ? { examples: [example] } : {}) });
  const chart = a.out.replace(/\.json$/, "") + ".svg";
  if (rows.length) fs.writeFileSync(chart, svg(rows, a.runs));
  console.log(`\nwrote ${a.out}${rows.length ? ` and ${chart}` : ""}`);
}

benchMain(__filename, USAGE, parseArgs, inSandbox);
