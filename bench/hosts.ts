import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { onLabHost, startHosts, take, type LabHost } from "../test/helpers/hosts";
import { nslab } from "./star/engine";
import { benchMain } from "./sandboxed";

// `npm run bench:hosts [-- --sizes 50,200 --hosts 1,2,4 --parallel 8]` (after `npm run build`): the star of
// bench/hosts/program (N namespaces on one subnet, split in turn over the hosts) made by
// `nslab up --skip-preview` and removed by `nslab destroy` on 1, 2 and 4 "remote hosts" of
// test/helpers/hosts.ts (namespaces of this sandbox, each with its own sshd), from the sandbox's
// own namespace. Per run: wall time, and per host the ssh sessions it served (its sshd logs them)
// and the commands nslab ran there, each a request and an answer on the host's one session: the
// hosts' `ip` wrapper logs its runs, and this file adds the same log in front of the other tools
// the driver runs there (the runner's own stat, cat, flock and rm are not counted).

const PROGRAM = path.join(__dirname, "hosts/program");
const USAGE = "usage: npm run bench:hosts -- [--sizes 50,200] [--hosts 1,2,4] [--parallel N]";

interface Row {
  hosts: number;
  n: number;
  resources: number;
  upSeconds: number;
  destroySeconds: number;
  /** ssh sessions and nslab's commands on each host. */
  up: Counts[];
  destroy: Counts[];
}

interface Args {
  sizes: number[];
  hosts: number[];
  /** nslab's --parallel; unset: its default. */
  parallel?: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { sizes: [50, 200], hosts: [1, 2, 4] };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    const list = value?.split(",").map(Number) ?? [];
    if (list.length === 0 || list.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${flag} ${value ?? ""}: use positive integers, e.g. 1,2,4`);
    if (flag === "--sizes") a.sizes = list;
    else if (flag === "--hosts") a.hosts = list;
    else if (flag === "--parallel") {
      if (list.length !== 1) throw new Error(`--parallel ${value}: give one number, e.g. 32`);
      a.parallel = list[0];
    }
    else throw new Error(`unknown option ${flag}`);
  }
  return a;
}

interface Counts {
  sessions: number;
  commands: number;
}

/** The ssh sessions and commands a host logged since the last look. */
const counts = (h: LabHost): Counts => ({ sessions: take(h, "sessions").length, commands: take(h, "commands").length });

/** The tools besides `ip` that the driver runs on a host (files.ts runs its file work with sh). */
const TOOLS = ["sh", "bridge", "tc", "sysctl", "iptables", "iptables-save", "iptables-restore", "nsenter", "setsid"];

/** Logs every run of TOOLS on the host to its `commands` log, as its `ip` wrapper does (its bin directory is first in PATH there). */
function countEveryCommand(h: LabHost): void {
  for (const tool of TOOLS) {
    const real = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
    fs.writeFileSync(path.join(h.dir, "bin", tool), `#!/bin/sh
printf "%s\\n" "${tool}" >>"${h.dir}/commands"
exec ${real} "$@"
`, { mode: 0o755 });
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [r, Number(process.hrtime.bigint() - t) / 1e9];
}

async function main({ sizes, hosts: hostCounts, parallel }: Args): Promise<void> {
  const rows: Row[] = [];
  for (const count of hostCounts) {
    const lab = await startHosts(count);
    lab.hosts.forEach(countEveryCommand);
    try {
      for (const n of sizes) {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-bench-hosts-"));
        const common = [PROGRAM, "--stack", "bench", "--state-dir", path.join(work, "state"), "--skip-typecheck", ...(parallel ? ["--parallel", String(parallel)] : [])];
        const config = ["--config", `n=${n}`, "--config", `hosts=${JSON.stringify(lab.hosts.map((h) => h.host))}`];
        lab.hosts.forEach(counts);
        const [up, upSeconds] = await timed(() => nslab(["up", ...common, ...config, "--skip-preview"]));
        const upCounts = lab.hosts.map(counts);
        // The first namespace of each host reaches the gateway, on the first host's bridge: over the tunnel from the others.
        for (const [i, h] of lab.hosts.entries()) {
          if (i < n && !onLabHost(h, "ip", "netns", "exec", `star${i}`, "ping", "-c1", "-W2", "10.201.0.1").includes("1 received")) throw new Error(`star${i} on host ${h.host.address} does not reach the gateway`);
        }
        const [down, destroySeconds] = await timed(() => nslab(["destroy", ...common]));
        const destroyCounts = lab.hosts.map(counts);
        const resources = up.changeSummary.create;
        if (up.failed || down.failed || down.changeSummary.delete < resources) throw new Error(`hosts ${count}, n ${n}: up or destroy failed (${JSON.stringify([up.changeSummary, down.changeSummary])})`);
        rows.push({ hosts: count, n, resources, upSeconds, destroySeconds, up: upCounts, destroy: destroyCounts });
        console.error(`bench: ${count} host(s), ${n} namespaces: up ${upSeconds.toFixed(1)} s, destroy ${destroySeconds.toFixed(1)} s`);
        fs.rmSync(work, { recursive: true, force: true });
      }
    } finally {
      await lab.teardown();
    }
  }
  const range = (xs: number[]) => (Math.min(...xs) === Math.max(...xs) ? String(xs[0]) : `${Math.min(...xs)}–${Math.max(...xs)}`);
  const per = (cs: Counts[]) => `${range(cs.map((c) => c.sessions))} / ${range(cs.map((c) => c.commands))}`;
  console.log("| hosts | namespaces | resources | up (s) | per host, up: ssh sessions / commands | destroy (s) | per host, destroy: ssh sessions / commands |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(`| ${r.hosts} | ${r.n} | ${r.resources} | ${r.upSeconds.toFixed(1)} | ${per(r.up)} | ${r.destroySeconds.toFixed(1)} | ${per(r.destroy)} |`);
  }
}

benchMain(__filename, USAGE, parseArgs, main);
