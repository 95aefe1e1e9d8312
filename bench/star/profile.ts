import * as fs from "node:fs";
import * as path from "node:path";

// `node --import tsx bench/star/profile.ts DIR`: where the time of an `nslab` run goes, from the
// V8 CPU profiles its Node processes wrote to DIR (run the bench with `--cpu-prof DIR`): per
// process (the engine, the program, the dynamic-provider host), wall time, busy time, and self
// time by the code it was spent in (module loading apart), then the functions that took the most.
// Time in the ip/iptables processes the provider host waits for is its idle time.

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const CATEGORIES: [string, RegExp][] = [
  ["nslab engine", /\/dist\/engine\//],
  ["nslab provider", /\/dist\/provider\//],
  ["nslab sdk", /\/dist\/sdk\//],
  ["pulumi closure serialization", /@pulumi\/pulumi\/runtime\/closure\//],
  ["pulumi sdk", /@pulumi\/pulumi\//],
  ["grpc-js", /@grpc\/grpc-js\//],
  ["protobuf", /google-protobuf\//],
  ["typescript", /\/typescript\//],
  ["tsx / esbuild", /\/(tsx|esbuild)\//],
  ["execa", /\/execa\//],
  ["other package", /node_modules\//],
  ["node internals", /^node:|^$/],
];

const LOADER = /^node:internal\/modules\//;

const packageOf = (url: string) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? url;

function own(n: Node): string {
  return CATEGORIES.find(([, re]) => re.test(n.callFrame.url))?.[0] ?? "other";
}

/**
 * Where a sample's time goes: V8's pseudo-frames as they are; anything under Node's module
 * loader is loading code (reading, resolving, compiling), told apart by the code that required
 * it (tsx's hooks, on the stack of every require of a program, are skipped); else the innermost
 * frame that is not Node's own (time in a Node builtin counts for the code that called it).
 */
function category(n: Node, parent: Map<Node, Node>): string {
  const name = n.callFrame.functionName;
  if (["(idle)", "(garbage collector)", "(program)"].includes(name)) return name;
  let loading = false;
  for (let f: Node | undefined = n; f; f = parent.get(f)) {
    if (LOADER.test(f.callFrame.url)) loading = true;
    else if (own(f) !== "node internals" && !(loading && own(f) === "tsx / esbuild")) {
      // While loading, this is the module whose code ran the require.
      return loading ? `${LOADING}, required by ${own(f) === "other package" ? packageOf(f.callFrame.url) : own(f)}` : own(f);
    }
  }
  return loading ? LOADING : "node internals";
}

function processOf(p: Profile): string {
  const urls = p.nodes.map((n) => n.callFrame.url).join("\n");
  if (urls.includes("cmd/dynamic-provider")) return "provider host";
  if (urls.includes("dist/engine/cli.js")) return "engine (nslab CLI)";
  if (urls.includes("cmd/run")) return "program";
  return "other node process";
}

const ms = (us: number) => `${(us / 1000).toFixed(0)} ms`.padStart(9);

const LOADING = "loading modules";

function summary(file: string): string {
  const p = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map(p.nodes.flatMap((n) => (n.children ?? []).map((c) => [byId.get(c)!, n] as const)));
  const self = new Map<Node, number>();
  p.samples.forEach((id, i) => self.set(byId.get(id)!, (self.get(byId.get(id)!) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const cats = new Map<string, number>();
  const loaders = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, t: number) => m.set(k, (m.get(k) ?? 0) + t);
  for (const [n, t] of self) {
    const c = category(n, parent);
    add(cats, c.startsWith(LOADING) ? LOADING : c, t);
    if (c.startsWith(`${LOADING}, required by `)) add(loaders, c.slice(`${LOADING}, required by `.length), t);
  }
  const wall = p.endTime - p.startTime;
  const busy = wall - (cats.get("(idle)") ?? 0);
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  const top = [...self].filter(([n]) => !n.callFrame.functionName.startsWith("(")).sort((a, b) => b[1] - a[1]).slice(0, 8);
  return [
    `${processOf(p)} (${path.basename(file)}): wall ${ms(wall).trim()}, busy ${ms(busy).trim()}`,
    ...sorted(cats).filter(([c, t]) => c !== "(idle)" && t >= 5000).map(([c, t]) => `  ${ms(t)}  ${c}`),
    `  ${LOADING}, by the code that required them:`,
    ...sorted(loaders).slice(0, 6).map(([c, t]) => `  ${ms(t)}  ${c}`),
    "  top functions (self time):",
    ...top.map(([n, t]) => `  ${ms(t)}  ${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*node_modules\//, "")}:${n.callFrame.lineNumber + 1}`),
  ].join("\n");
}

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node --import tsx bench/star/profile.ts DIR (of .cpuprofile files)");
  process.exit(2);
}
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).sort()) console.log(summary(path.join(dir, f)) + "\n");
