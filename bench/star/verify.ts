import { spawn } from "node:child_process";
import { exec } from "../../provider/driver/exec";
import { kernelSnapshot } from "../../test/helpers/snapshot";
import { BRIDGE, member, TO_PORT } from "./lab";

// What every run of every method must pass, so that no figure comes from a broken lab: after
// up, namespace 0 pings namespace 1 over the bridge, and a TCP connection from the host to its own
// address's forwarded port 20001 reaches a listener in namespace 1; after destroy, the kernel is
// as it was before the run (kernelSnapshot: namespaces, links, addresses, routes, nslab's host
// records, iptables rules and chains, forwarding).

export async function verifyLab(tag: string): Promise<void> {
  const [from, to] = [member(0), member(1)];
  await exec(["ip", "netns", "exec", from.netns, "ping", "-c1", "-W2", to.ip]).catch((err: Error) => {
    throw new Error(`${tag}: ${from.netns} cannot ping ${to.ip} (${to.netns}): ${err.message}`);
  });
  const line = `star ${tag}`;
  const got = await forwarded(to.netns, to.ip, `${BRIDGE.ip}`, to.hostPort, line);
  if (got.trim() !== line) throw new Error(`${tag}: the port forward ${BRIDGE.ip}:${to.hostPort} -> ${to.ip}:${TO_PORT} delivered ${JSON.stringify(got)}, expected ${JSON.stringify(line)}`);
}

/** Sends `line` from the host to host:port; what a one-shot listener on ip:TO_PORT in `netns` received. */
async function forwarded(netns: string, ip: string, host: string, port: number, line: string): Promise<string> {
  const listener = spawn("ip", ["netns", "exec", netns, "timeout", "5", "nc", "-l", ip, String(TO_PORT)], { stdio: ["ignore", "pipe", "ignore"] });
  let received = "";
  listener.stdout.on("data", (d: Buffer) => (received += d));
  const closed = new Promise((resolve) => listener.on("close", resolve));
  for (let attempt = 0; ; attempt++) {
    try {
      await exec(["nc", "-N", "-w", "2", host, String(port)], { input: line + "\n" });
      break;
    } catch (err) {
      if (attempt >= 40) throw new Error(`no TCP connection through ${host}:${port} to ${ip}:${TO_PORT} in ${netns}: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50)); // the listener is not listening yet
    }
  }
  await closed;
  return received;
}

/** Fails, naming what is left, unless the kernel is as `pristine` (a kernelSnapshot) says. */
export function verifyClean(pristine: string, tag: string): void {
  const now = kernelSnapshot();
  if (now === pristine) return;
  const before = new Set(pristine.split("\n"));
  const after = new Set(now.split("\n"));
  const diff = [...[...before].filter((l) => !after.has(l)).map((l) => `- ${l}`), ...[...after].filter((l) => !before.has(l)).map((l) => `+ ${l}`)];
  throw new Error(`${tag}: the kernel is not as before the run:\n${diff.slice(0, 40).join("\n")}${diff.length > 40 ? `\n(${diff.length - 40} more)` : ""}`);
}
