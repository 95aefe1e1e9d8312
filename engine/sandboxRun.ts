import * as fs from "node:fs";
import * as path from "node:path";
import { exec } from "../provider/driver/exec";
import type { Host } from "../provider/lib/host";
import { run, type EngineOptions } from "./deploy";
import { labGraph, toMermaid } from "./graph";
import { diagnosticLine, stepLines, summary } from "./output";
import { onLabHost, startHosts, UNDERLAY_ADDRESS, type LabHost } from "./sandboxHosts";
import type { ResourceState } from "./state";

// `nslab sandbox DIR`, inside the throwaway sandbox engine/cli.ts made: `up` of the program
// through the engine, the lab as the kernel sees it (links, addresses, IPv4 and IPv6 routes), pings between its addresses, its graph, then
// `destroy`.
// A program whose package.json says `"nslab": { "sandboxHosts": N }` gets N "remote hosts"
// (engine/sandboxHosts.ts) started first and given as config: `hosts`, their nslab.Host values
// (JSON), and `underlay`, the sandbox's own address on their underlay network; the kernel views and
// pings then cover every host.
// Its state lives on the sandbox's own /run, and goes with it.

/** Where a command runs: a namespace (undefined: the root one) of a sandbox host (undefined: the sandbox's own). */
interface Place {
  lab?: LabHost;
  netns?: string;
}

async function main(dir: string): Promise<number> {
  const count = sandboxHosts(dir);
  const lab = count ? await startHosts(count) : undefined;
  try {
    return await session(dir, lab?.hosts ?? []);
  } finally {
    await lab?.teardown();
  }
}

/** How many hosts the program asks for (package.json `nslab.sandboxHosts`); 0 when none. */
function sandboxHosts(dir: string): number {
  const file = path.join(dir, "package.json");
  const n = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as { nslab?: { sandboxHosts?: unknown } }).nslab?.sandboxHosts : undefined;
  if (n === undefined) return 0;
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 200) throw new Error(`${file}: nslab.sandboxHosts ${JSON.stringify(n)} is not valid: use an integer from 1 to 200 (the hosts the sandbox starts)`);
  return n as number;
}

async function session(dir: string, hosts: LabHost[]): Promise<number> {
  const stateDir = "/run/nslab-sandbox-state";
  const options: EngineOptions = {
    dir,
    stack: "sandbox",
    stateDir,
    ...(hosts.length ? { config: { hosts: JSON.stringify(hosts.map((h) => h.host)), underlay: UNDERLAY_ADDRESS } } : {}),
    onStep: (s) => stepLines(s, false).forEach((l) => console.log(l)),
    onDiagnostic: (d) => console.log(diagnosticLine(d)),
    onOutput: (stream, text) => process[stream].write(text),
  };
  if (hosts.length) console.log(`nslab sandbox: started ${hosts.length} host(s): ${hosts.map((h) => h.host.address).join(", ")} (config hosts; this machine is ${UNDERLAY_ADDRESS}: config underlay)`);
  console.log(`nslab sandbox: up ${dir}`);
  const up = await run("up", options);
  console.log(summary(up));
  if (!up.failed) {
    const resources = up.state?.deployment.resources ?? [];
    const addresses = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/nslab:Address");
    const views = [await show({}, ""), ...(await Promise.all(hosts.map((h) => show({ lab: h }, `host ${h.host.address}: `))))];
    console.log(`\nThe lab, as the kernel sees it:\n${views.join("\n")}\nConnectivity (ping between the lab's addresses):\n${await pings(addresses, hosts)}`);
    console.log(`The lab as a graph (Mermaid, as \`nslab graph\` prints it; --format dot for Graphviz):\n${toMermaid(labGraph(resources))}`);
  }
  console.log(`nslab sandbox: destroy`);
  const down = await run("destroy", options);
  console.log(summary(down));
  return up.failed || down.failed ? 1 : 0;
}

/** Runs argv at a place: its output, or undefined when it failed. */
async function at(place: Place, argv: string[]): Promise<string | undefined> {
  const inside = place.netns ? ["ip", "netns", "exec", place.netns, ...argv] : argv;
  try {
    return place.lab ? onLabHost(place.lab, ...inside) : (await exec(inside)).stdout;
  } catch {
    return undefined;
  }
}

/** Pings every address the lab made from every other place that holds one of its addresses. */
async function pings(resources: ResourceState[], hosts: LabHost[]): Promise<string> {
  const labOf = (host: unknown) => hosts.find((h) => h.host.address === (host as Host | undefined)?.address);
  const name = (p: Place) => `${p.lab ? `${p.lab.host.address} ` : ""}${p.netns ?? "host"}`;
  const addresses = resources.map((r) => ({ place: { lab: labOf(r.outputs.host), netns: r.outputs.netns as string | undefined }, ip: String(r.outputs.address).split("/")[0]! }));
  const sources = [...new Map(addresses.map((a) => [name(a.place), a.place])).values()];
  const lines: string[] = [];
  for (const from of sources) {
    for (const to of addresses.filter((a) => name(a.place) !== name(from))) {
      const ok = (await at(from, ["ping", "-c1", "-W1", to.ip])) !== undefined;
      lines.push(`  ${name(from)} -> ${to.ip} (${name(to.place)}): ${ok ? "ok" : "unreachable"}`);
    }
  }
  return lines.length ? lines.join("\n") + "\n" : "  (no addresses)\n";
}

/** `ip` views of a host's root namespace and of every namespace there, each title led by `label`. */
async function show(host: Place, label: string): Promise<string> {
  const sections: string[] = [];
  const namespaces = ((await at(host, ["ip", "netns", "list"])) ?? "").split("\n").map((l) => l.split(" ")[0]!).filter(Boolean).sort();
  for (const netns of [undefined, ...namespaces]) {
    const n = netns ? ["-n", netns] : [];
    const views = await Promise.all([["-br", "link"], ["-br", "addr"], ["route"], ["-6", "route"]].map((args) => at(host, ["ip", ...n, ...args])));
    sections.push(`[${label}${netns ? `netns ${netns}` : "host"}]\n${views.map((v) => v ?? "").join("\n")}`.trimEnd());
  }
  return sections.join("\n\n") + "\n";
}

main(process.argv[2] ?? ".").then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    console.error(`nslab sandbox: ${err.message}`);
    process.exitCode = 1;
  },
);
