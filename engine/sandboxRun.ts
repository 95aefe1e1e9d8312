import * as fs from "node:fs";
import { exec } from "../provider/driver/exec";
import { run, type EngineOptions } from "./deploy";
import { labGraph, toMermaid } from "./graph";
import { diagnosticLine, stepLines, summary } from "./output";
import type { ResourceState } from "./state";

// `nslab sandbox DIR`, inside the throwaway sandbox engine/cli.ts made: `up` of the program
// through the engine, the lab as the kernel sees it (links, addresses, IPv4 and IPv6 routes), pings between its addresses, its graph, then
// `destroy`.
// Its state lives on the sandbox's own /run, and goes with it.

async function main(dir: string): Promise<number> {
  const stateDir = "/run/nslab-sandbox-state";
  const options: EngineOptions = {
    dir,
    stack: "sandbox",
    stateDir,
    onStep: (s) => stepLines(s, false).forEach((l) => console.log(l)),
    onDiagnostic: (d) => console.log(diagnosticLine(d)),
    onOutput: (stream, text) => process[stream].write(text),
  };
  console.log(`nslab sandbox: up ${dir}`);
  const up = await run("up", options);
  console.log(summary(up));
  if (!up.failed) {
    const resources = up.state?.deployment.resources ?? [];
    const addresses = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/nslab:Address");
    console.log(`\nThe lab, as the kernel sees it:\n${await show()}\nConnectivity (ping between the lab's addresses):\n${await pings(addresses)}`);
    console.log(`The lab as a graph (Mermaid, as \`nslab graph\` prints it; --format dot for Graphviz):\n${toMermaid(labGraph(resources))}`);
  }
  console.log(`nslab sandbox: destroy`);
  const down = await run("destroy", options);
  console.log(summary(down));
  return up.failed || down.failed ? 1 : 0;
}

/** Pings every address the lab made from every other namespace that holds one of its addresses. */
async function pings(resources: ResourceState[]): Promise<string> {
  const addresses = resources.map((r) => ({ netns: r.outputs.netns as string | undefined, ip: String(r.outputs.address).split("/")[0]! }));
  const sources = [...new Set(addresses.map((a) => a.netns))];
  const lines: string[] = [];
  for (const from of sources) {
    for (const to of addresses.filter((a) => a.netns !== from)) {
      const ok = await exec([...(from ? ["ip", "netns", "exec", from] : []), "ping", "-c1", "-W1", to.ip]).then(() => true, () => false);
      lines.push(`  ${from ?? "host"} -> ${to.ip} (${to.netns ?? "host"}): ${ok ? "ok" : "unreachable"}`);
    }
  }
  return lines.length ? lines.join("\n") + "\n" : "  (no addresses)\n";
}

/** `ip` views of the host namespace and of every namespace the lab made. */
async function show(): Promise<string> {
  const sections: string[] = [];
  const namespaces = fs.existsSync("/run/netns") ? fs.readdirSync("/run/netns") : [];
  for (const ns of [undefined, ...namespaces]) {
    const n = ns ? ["-n", ns] : [];
    const links = (await exec(["ip", ...n, "-br", "link"])).stdout;
    const addrs = (await exec(["ip", ...n, "-br", "addr"])).stdout;
    const routes = (await exec(["ip", ...n, "route"])).stdout;
    const routes6 = (await exec(["ip", ...n, "-6", "route"])).stdout;
    sections.push(`[${ns ? `netns ${ns}` : "host"}]\n${links}\n${addrs}\n${routes}\n${routes6}`.trimEnd());
  }
  return sections.join("\n\n") + "\n";
}

void main(process.argv[2] ?? ".").then((code) => (process.exitCode = code));
