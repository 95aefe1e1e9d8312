import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { providers } from "../provider";
import { sandboxed } from "./sandboxed";

// `npm run bench:kinds [-- RUNS]`: the median wall time of one create and one delete of each kind
// through its provider, in a throwaway sandbox. Each kind's prerequisites (a namespace, a link, an
// address) are made once, outside the timed part.

type KindName = keyof typeof providers;

const owner = (name: string) => ({ project: "bench", stack: "bench", path: [name] });

/** What each kind is timed with: its inputs for run i, and what must exist first. */
const CASES: { label: string; kind: KindName; args: (i: number) => Record<string, unknown> }[] = [
  { label: "Netns", kind: "Netns", args: (i) => ({ name: `b${i}` }) },
  { label: "VethPair (host <-> netns)", kind: "VethPair", args: (i) => ({ name: `vh${i}`, peerName: `vn${i}`, peerNetns: "base" }) },
  { label: "Bridge", kind: "Bridge", args: (i) => ({ name: `br${i}` }) },
  { label: "Address (IPv4)", kind: "Address", args: (i) => ({ device: "base0", address: `10.70.${i}.1/24` }) },
  { label: "Route (via)", kind: "Route", args: (i) => ({ destination: `10.80.${i}.0/24`, via: "10.70.255.2" }) },
  { label: "Sysctl (host)", kind: "Sysctl", args: () => ({ key: "net.ipv4.ip_forward", value: 1 }) },
  { label: "Sysctl (netns)", kind: "Sysctl", args: () => ({ key: "net.ipv4.ip_forward", value: 1, netns: "base" }) },
  { label: "NatRule", kind: "NatRule", args: (i) => ({ source: `10.90.${i}.0/24` }) },
  { label: "PortForward", kind: "PortForward", args: (i) => ({ hostPort: 8000 + i, toAddress: "10.70.255.2" }) },
  { label: "FirewallRule", kind: "FirewallRule", args: (i) => ({ action: "drop", protocol: "tcp", destinationPort: 9000 + i }) },
  { label: "TrafficControl (rate)", kind: "TrafficControl", args: () => ({ device: "base0", rate: "8mbit" }) },
  // Without `ready`, create waits 0.3 s to see that the command does not exit at once.
  { label: "Process (sleep)", kind: "Process", args: () => ({ netns: "base", command: ["sleep", "600"] }) },
  { label: "Process (http.server, ready)", kind: "Process", args: (i) => ({ netns: "base", command: ["python3", "-m", "http.server", String(8000 + i)], ready: { tcpPort: 8000 + i } }) },
];

function setup(): void {
  for (const argv of [
    ["ip", "netns", "add", "base"],
    ["ip", "link", "add", "name", "base0", "type", "veth", "peer", "name", "base1", "netns", "base"],
    ["ip", "addr", "add", "10.70.255.1/24", "dev", "base0"],
    ["ip", "link", "set", "dev", "base0", "up"],
  ]) spawnSync(argv[0]!, argv.slice(1), { stdio: "inherit" });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function inSandbox(runs: number): Promise<void> {
  setup();
  console.log(`median of ${runs} runs, ms    create   delete`);
  for (const c of CASES) {
    const p = providers[c.kind];
    const creates: number[] = [];
    const deletes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const { inputs } = await p.check({}, { ...c.args(i), owner: owner(`${c.kind}-${i}`) });
      let t = performance.now();
      const { id, outs } = await p.create(inputs);
      creates.push(performance.now() - t);
      t = performance.now();
      await p.delete(id, outs);
      deletes.push(performance.now() - t);
    }
    console.log(`${c.label.padEnd(28)} ${median(creates).toFixed(1).padStart(8)} ${median(deletes).toFixed(1).padStart(8)}`);
  }
}

const runs = Number(process.argv[2] ?? 20);
sandboxed(__filename, async () => await inSandbox(runs));
