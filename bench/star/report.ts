import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import type { Row } from "./run";

// What `npm run bench` reports: the table on stdout (with the ratios we quote and the issue's
// targets), bench/results.json, and a hand-written SVG chart of time against N.

export const BASELINE = "shell-naive";
/** The engine users would otherwise run. */
export const PULUMI = "pulumi-cli";

function version(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8" }).trim().split("\n")[0]!;
  } catch {
    return "unknown";
  }
}

export function machine(): Record<string, string | number> {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? os.cpus()[0]?.model ?? "unknown";
  return { cpu, cores: os.availableParallelism(), kernel: os.release(), node: process.version, iproute2: version(["ip", "-V"]), iptables: version(["iptables", "-V"]) };
}

/** Reads `file` (when it exists), sets `key`, writes it back: star and floor share results.json. */
export function mergeResults(file: string, fields: Record<string, unknown>): void {
  const old = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  fs.writeFileSync(file, JSON.stringify({ ...old, machine: machine(), ...fields }, null, 2) + "\n");
}

const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? `${(a / b).toFixed(2)}x` : "-");
const find = (rows: Row[], method: string, n: number) => rows.find((r) => r.method === method && r.n === n);

export function table(rows: Row[], runs: number): string {
  const head = ["method", "N", "up s", "destroy s", "up/naive", "destroy/naive", "up/pulumi", "destroy/pulumi", "1st netns s", "peak RSS MiB"];
  const body = rows.map((r) => {
    const [base, cli] = [find(rows, BASELINE, r.n), find(rows, PULUMI, r.n)];
    return [r.method, String(r.n), r.up_s.toFixed(2), r.destroy_s.toFixed(2), ratio(r.up_s, base?.up_s), ratio(r.destroy_s, base?.destroy_s), ratio(r.up_s, cli?.up_s), ratio(r.destroy_s, cli?.destroy_s), r.first_netns_s.toFixed(2), String(r.peak_rss_mib ?? "-")];
  });
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join("  ");
  return [
    `The star lab, median of ${runs} run(s), wall seconds; ratios against ${BASELINE} and ${PULUMI} at the same N; peak RSS: the most all of a method's processes held at once (the largest of the runs).`,
    `nslab-engine is the default \`nslab up\` (previewing first); nslab-engine-skip-preview is \`nslab up --skip-preview\`.`,
    "",
    line(head),
    ...body.map(line),
    "",
    ...targets(rows),
  ].join("\n");
}

/** The targets (README, "Speed") at every N measured, with this run's figures. */
export function targets(rows: Row[]): string[] {
  const lines: string[] = [];
  const check = (what: string, value: number | undefined, bound: number, unit = "x") => {
    if (value === undefined || !Number.isFinite(value)) return;
    const shown = unit === "x" ? `${value.toFixed(2)}x` : `${value} ${unit}`;
    lines.push(`  ${what}: ${shown} (target <= ${bound}${unit === "x" ? "x" : ` ${unit}`}) ${value <= bound ? "met" : "NOT met"}`);
  };
  const over = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? a / b : undefined);
  for (const n of [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b)) {
    const get = (m: string) => find(rows, m, n);
    const [engine, skip, naive, cli] = [get("nslab-engine"), get("nslab-engine-skip-preview"), get(BASELINE), get(PULUMI)];
    const before = lines.length;
    check(`nslab up / ${BASELINE} up`, over(engine?.up_s, naive?.up_s), 2.0);
    check(`nslab up --skip-preview / ${BASELINE} up`, over(skip?.up_s, naive?.up_s), 1.0);
    check(`nslab destroy / ${BASELINE} destroy`, over(engine?.destroy_s, naive?.destroy_s), 0.15);
    check(`nslab up / pulumi up --yes`, over(engine?.up_s, cli?.up_s), 0.5);
    check(`nslab destroy / pulumi destroy --yes`, over(engine?.destroy_s, cli?.destroy_s), 0.5);
    check("peak RSS of nslab up and destroy", engine?.peak_rss_mib, 1536, "MiB");
    if (lines.length > before) lines.splice(before, 0, `Targets at N=${n} (the ${BASELINE} ratios are targets at N=200, the RSS at N=1000):`);
  }
  return lines;
}

const COLORS: Record<string, string> = {
  "nslab-engine": "#d62728",
  "nslab-engine-skip-preview": "#ff7f0e",
  provider: "#9467bd",
  "shell-naive": "#1f77b4",
  "ip-batch": "#2ca02c",
  "pulumi-cli": "#8c564b",
};

/** Time against N, both log scales; one colour per method, up solid and destroy dashed. */
export function svg(rows: Row[], runs: number): string {
  const [W, H, left, right, top, bottom] = [760, 460, 64, 230, 40, 50];
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const times = rows.flatMap((r) => [r.up_s, r.destroy_s]).filter((t) => t > 0);
  const [yLo, yHi] = [10 ** Math.floor(Math.log10(Math.min(...times))), 10 ** Math.ceil(Math.log10(Math.max(...times)))];
  const [xLo, xHi] = [Math.log10(ns[0]!), Math.log10(ns[ns.length - 1]!)];
  const x = (n: number) => left + (xHi === xLo ? 0.5 : (Math.log10(n) - xLo) / (xHi - xLo)) * (W - left - right);
  const y = (t: number) => top + (1 - (Math.log10(t) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * (H - top - bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="14">The star lab: wall time against N (median of ${runs}; log scales)</text>`,
  ];
  for (let d = yLo; d <= yHi * 1.001; d *= 10) {
    for (const k of [1, 2, 5]) {
      const t = d * k;
      if (t > yHi * 1.001) break;
      out.push(`<line x1="${left}" x2="${W - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="${k === 1 ? "#bbb" : "#eee"}"/>`);
      out.push(`<text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${+t.toPrecision(2)} s</text>`);
    }
  }
  for (const n of ns) {
    out.push(`<line x1="${x(n).toFixed(1)}" x2="${x(n).toFixed(1)}" y1="${top}" y2="${H - bottom}" stroke="#eee"/>`);
    out.push(`<text x="${x(n).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${n}</text>`);
  }
  out.push(`<text x="${(left + W - right) / 2}" y="${H - 12}" text-anchor="middle">N (namespaces)</text>`);
  const methods = [...new Set(rows.map((r) => r.method))];
  methods.forEach((m, i) => {
    const color = COLORS[m] ?? "#555";
    const mine = rows.filter((r) => r.method === m).sort((a, b) => a.n - b.n);
    for (const [key, dash] of [["up_s", ""], ["destroy_s", ` stroke-dasharray="6 4"`]] as const) {
      const points = mine.map((r) => `${x(r.n).toFixed(1)},${y(r[key]).toFixed(1)}`);
      out.push(`<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
      for (const p of points) out.push(`<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="3" fill="${color}"/>`);
    }
    const ly = top + 10 + i * 20;
    out.push(`<line x1="${W - right + 16}" x2="${W - right + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${W - right + 46}" y="${ly + 4}">${m}</text>`);
  });
  const ly = top + 20 + methods.length * 20;
  out.push(`<line x1="${W - right + 16}" x2="${W - right + 40}" y1="${ly}" y2="${ly}" stroke="#555" stroke-width="2"/><text x="${W - right + 46}" y="${ly + 4}">up</text>`);
  out.push(`<line x1="${W - right + 16}" x2="${W - right + 40}" y1="${ly + 20}" y2="${ly + 20}" stroke="#555" stroke-width="2" stroke-dasharray="6 4"/><text x="${W - right + 46}" y="${ly + 24}">destroy</text>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}
