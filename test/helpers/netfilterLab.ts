import "./sandboxed";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import { sh } from "./kernel";

// The traffic topology of the iptables kernel tests, inside the test sandbox (whose own namespace
// plays the lab host):
//
//   lan (the outside world)                host (the sandbox)                  lab
//   lan0 192.168.50.2/24  <--veth-->  up0 192.168.50.1/24   in0 10.10.0.1/24  <--veth-->  lab0 10.10.0.2/24
//                                     ip_forward=1                                        default via 10.10.0.1
//
// The LAN has no route to 10.10.0.0/24: only NAT (or a route the test adds) lets traffic back.

export const HOST_UP = "192.168.50.1";
export const LAN = "192.168.50.2";
export const HOST_IN = "10.10.0.1";
export const LAB = "10.10.0.2";

export function buildLab(): void {
  sh("ip", "netns", "add", "lan");
  sh("ip", "netns", "add", "lab");
  for (const ns of ["lan", "lab"]) sh("ip", "-n", ns, "link", "set", "dev", "lo", "up");
  sh("ip", "link", "add", "name", "up0", "type", "veth", "peer", "name", "lan0", "netns", "lan");
  sh("ip", "link", "add", "name", "in0", "type", "veth", "peer", "name", "lab0", "netns", "lab");
  sh("ip", "addr", "add", `${HOST_UP}/24`, "dev", "up0");
  sh("ip", "addr", "add", `${HOST_IN}/24`, "dev", "in0");
  sh("ip", "-n", "lan", "addr", "add", `${LAN}/24`, "dev", "lan0");
  sh("ip", "-n", "lab", "addr", "add", `${LAB}/24`, "dev", "lab0");
  for (const dev of ["up0", "in0"]) sh("ip", "link", "set", "dev", dev, "up");
  sh("ip", "-n", "lan", "link", "set", "dev", "lan0", "up");
  sh("ip", "-n", "lab", "link", "set", "dev", "lab0", "up");
  sh("ip", "-n", "lab", "route", "add", "default", "via", HOST_IN);
  fs.writeFileSync("/proc/sys/net/ipv4/ip_forward", "1");
}

/** Removes the topology and everything the tests set on the host (policy, forwarding, conntrack). */
export function destroyLab(): void {
  sh("ip", "netns", "del", "lan");
  sh("ip", "netns", "del", "lab");
  // The host ends of the veths go with their peers, asynchronously.
  for (let i = 0; i < 200 && fs.existsSync("/sys/class/net/up0"); i++) execFileSync("sleep", ["0.01"]);
  for (let i = 0; i < 200 && fs.existsSync("/sys/class/net/in0"); i++) execFileSync("sleep", ["0.01"]);
  sh("iptables", "-P", "FORWARD", "ACCEPT");
  fs.writeFileSync("/proc/sys/net/ipv4/ip_forward", "0");
}

function inNs(netns: string | undefined, argv: string[]): string[] {
  return netns ? ["ip", "netns", "exec", netns, ...argv] : argv;
}

export interface Server {
  stop(): Promise<void>;
}

/**
 * A one-line TCP server in `netns` that answers every connection with "<name> <peer address>"
 * and closes it: the test sees which server answered and the source address it saw.
 */
export async function serve(netns: string | undefined, address: string, port: number, name: string): Promise<Server> {
  const code = `require("net").createServer((c) => c.end(${JSON.stringify(name)} + " " + c.remoteAddress + "\\n")).listen(${port}, ${JSON.stringify(address)}, () => console.log("ready"))`;
  return start(inNs(netns, [process.execPath, "-e", code]), name);
}

async function start(argv: string[], name: string): Promise<Server> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (c) => reject(new Error(`server ${name} exited with ${c}`)));
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill();
      }),
  };
}

/** A UDP server in `netns` that answers every datagram with its name. */
export async function serveUdp(netns: string | undefined, address: string, port: number, name: string): Promise<Server> {
  const code = `const s = require("dgram").createSocket("udp4"); s.on("message", (m, r) => s.send(${JSON.stringify(name)}, r.port, r.address)); s.bind(${port}, ${JSON.stringify(address)}, () => console.log("ready"))`;
  return start(inNs(netns, [process.execPath, "-e", code]), name);
}

/**
 * Sends one datagram from `netns`, always from source port 40000 (so every call is the same
 * conntrack flow), and returns the answer, or undefined when none came within a second.
 */
export function askUdp(netns: string | undefined, address: string, port: number): string | undefined {
  const code = `const s = require("dgram").createSocket("udp4"); s.on("message", (m) => { console.log(String(m)); process.exit(0); }); s.bind(40000, () => s.send("q", ${port}, ${JSON.stringify(address)})); setTimeout(() => process.exit(1), 1000)`;
  const argv = inNs(netns, [process.execPath, "-e", code]);
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Connects with `nc` from `netns` and returns the server's answer, or undefined when no connection was made. */
export function connect(netns: string | undefined, address: string, port: number, seconds = 2): string | undefined {
  const argv = inNs(netns, ["nc", "-w", String(seconds), address, String(port)]);
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether one ping from `netns` to `address` is answered within a second. */
export function pings(netns: string | undefined, address: string): boolean {
  try {
    const argv = inNs(netns, ["ping", "-c", "1", "-W", "1", address]);
    execFileSync(argv[0]!, argv.slice(1), { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** `iptables-save` without counters and the timestamped comment lines: comparable byte for byte. */
export function iptablesSave(netns?: string): string {
  const argv = inNs(netns, ["iptables-save"]);
  return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8" })
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ""))
    .join("\n");
}

/** `iptables -S CHAIN` of a table, as lines (undefined when the chain does not exist). */
export function chain(table: string, name: string, netns?: string): string[] | undefined {
  const argv = inNs(netns, ["iptables", "-t", table, "-S", name]);
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n");
  } catch {
    return undefined;
  }
}

/** The median of the durations (ms) of `n` sequential runs of `fn`. */
export async function medianMs(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}
