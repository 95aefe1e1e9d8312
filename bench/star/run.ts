import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { kernelSnapshot } from "../../test/helpers/snapshot";
import type { Method } from "./method";
import { watchRss } from "./rss";
import { verifyClean, verifyLab } from "./verify";

// The measurement loop of `npm run bench`, inside a sandbox: for each N and each run, every
// method in turn (so drifting load spreads over all of them) builds the star, is verified,
// and tears it down; the kernel must then be exactly as before. Times are wall seconds of the
// build and of the teardown; first_netns_s is the time from the start of the build to the
// first namespace appearing in /run/netns (the engine's fixed cost before any kernel work);
// peak_rss_mib the most memory the method's processes held at once, up or destroy (rss.ts).

export interface Run {
  up_s: number;
  destroy_s: number;
  first_netns_s: number;
  peak_rss_mib: number;
  /** At the peak: MiB by kind of process (engine, program, bash, ip, ...). */
  peak_rss_by: Record<string, number>;
  /** The errors of the attempts that failed before this run succeeded. */
  failures?: string[];
}

export interface Row {
  method: string;
  n: number;
  /** Medians of runs. */
  up_s: number;
  destroy_s: number;
  first_netns_s: number;
  peak_rss_mib: number;
  runs: Run[];
}

export interface Options {
  sizes: number[];
  runs: number;
  methods: Method[];
  /** The largest N a method runs at, by its name (the real CLI takes most of an hour at N=1000). */
  maxN: Record<string, number>;
  /** Where each run's files go (scripts, state): work/<method>-<n>/. */
  work: string;
  log: (line: string) => void;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Milliseconds as seconds, to the millisecond. */
export const seconds = (ms: number) => Math.round(ms) / 1000;

/** Resolves when the first entry appears in /run/netns (or never); `stop` ends the watch. */
function firstNetns(): { at: Promise<number>; stop: () => void } {
  let stop = () => {};
  const at = new Promise<number>((resolve) => {
    const watcher = fs.watch("/run/netns", () => {
      resolve(performance.now());
      watcher.close();
    });
    stop = () => watcher.close();
  });
  return { at, stop };
}

async function once(m: Method, n: number, dir: string, tag: string): Promise<Run> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const watch = firstNetns();
  const start = performance.now();
  let rss = watchRss();
  // A failed up stops the watches too: their timers would keep the bench alive.
  const teardown = await m.up(n, dir).catch((err: unknown) => {
    rss.stop();
    throw err;
  }).finally(watch.stop);
  const up = performance.now() - start;
  const upRss = rss.stop();
  const first = await Promise.race([watch.at, Promise.resolve(NaN)]);
  await verifyLab(tag);
  const t = performance.now();
  rss = watchRss();
  await teardown().catch((err: unknown) => {
    rss.stop();
    throw err;
  });
  const destroy = performance.now() - t;
  const destroyRss = rss.stop();
  const peak = destroyRss.peak > upRss.peak ? destroyRss : upRss;
  return { up_s: seconds(up), destroy_s: seconds(destroy), first_netns_s: seconds(first - start), peak_rss_mib: peak.peak, peak_rss_by: peak.by };
}

/** The times the bench tries a run of a method that can recover from a failed one. */
const ATTEMPTS = 3;

/**
 * A run, verified clean after; one that fails (the real CLI failed once in ~6 runs at N=200) is
 * logged, the method's `recover` removes what it made, and the run is tried again, up to
 * ATTEMPTS times. The failures are kept in the run's record.
 */
async function repeatable(m: Method, n: number, dir: string, tag: string, clean: () => void, log: (line: string) => void): Promise<Run> {
  const failures: string[] = [];
  for (;;) {
    try {
      const run = await once(m, n, dir, tag);
      clean();
      return failures.length ? { ...run, failures } : run;
    } catch (err) {
      const message = (err as Error).message;
      if (!m.recover || failures.length + 1 >= ATTEMPTS) throw err;
      failures.push(message);
      log(`${tag} failed, recovering and trying it again: ${message}`);
      await m.recover(n, dir);
      clean();
    }
  }
}

export async function runStar(o: Options): Promise<Row[]> {
  const pristine = kernelSnapshot();
  const times = new Map<string, Run[]>();
  for (const warmUp of new Set(o.methods.map((m) => m.warmUp))) await warmUp?.(o.work);
  const runsAt = (n: number) => o.methods.filter((m) => n <= (o.maxN[m.name] ?? Infinity));
  for (const n of o.sizes) {
    for (let r = 1; r <= o.runs; r++) {
      for (const m of runsAt(n)) {
        const tag = `${m.name} n=${n} run ${r}/${o.runs}`;
        const run = await repeatable(m, n, path.join(o.work, `${m.name}-${n}`), tag, () => verifyClean(pristine, tag), o.log);
        o.log(`${tag}: up ${run.up_s.toFixed(2)} s, destroy ${run.destroy_s.toFixed(2)} s, first namespace after ${run.first_netns_s.toFixed(2)} s, peak RSS ${run.peak_rss_mib} MiB (${Object.entries(run.peak_rss_by).map(([k, v]) => `${k} ${v}`).join(", ")}); verified, clean`);
        const key = `${m.name}/${n}`;
        times.set(key, [...(times.get(key) ?? []), run]);
      }
    }
  }
  return o.sizes.flatMap((n) =>
    runsAt(n).map((m) => {
      const runs = times.get(`${m.name}/${n}`)!;
      return { method: m.name, n, up_s: median(runs.map((x) => x.up_s)), destroy_s: median(runs.map((x) => x.destroy_s)), first_netns_s: median(runs.map((x) => x.first_netns_s)), peak_rss_mib: Math.max(...runs.map((x) => x.peak_rss_mib)), runs };
    }),
  );
}
