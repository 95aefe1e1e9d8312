import * as fs from "node:fs";
import * as path from "node:path";
import { CommandUsageError, find, inNetns, labArgs, labResources, runAttached, type LabResource } from "./lab";

// `nslab capture [DIR] NAME [--end peer] [-w FILE] [FILTER…]`: tcpdump on a link end of the
// stack, in its namespace. pcap goes to FILE, or to stdout when stdout is not a terminal (so
// `nslab capture lab link | wireshark -k -i -` works); on a terminal, the packets are printed.

const LINKS = new Set(["VethPair", "Bridge", "TrafficControl", "Address"]);

/** The interface and namespace of a link resource's end. */
function endOf(r: LabResource, end: string | undefined): { device: string; netns: string } {
  const v = r.values;
  if (end !== undefined && (end !== "peer" || r.kind !== "VethPair")) throw new CommandUsageError(`--end peer is the second end of a VethPair; ${r.name} is a ${r.kind}`);
  if (end === "peer") return { device: String(v.peerName), netns: String(v.peerNetns ?? "") };
  return { device: String(r.kind === "VethPair" || r.kind === "Bridge" ? v.name : v.device), netns: String(v.netns ?? "") };
}

export function captureCommand(argv: string[]): number {
  const a = labArgs(argv, { end: { type: "string" }, write: { type: "string", short: "w" } });
  const r = find(labResources(a), a.name, "link (VethPair, Bridge, or the device of a TrafficControl or Address)", (x) => LINKS.has(x.kind));
  const { device, netns } = endOf(r, a.values.end);
  const dirs = (process.env.PATH ?? "").split(":");
  if (!dirs.some((d) => d && fs.existsSync(path.join(d, "tcpdump")))) throw new Error("tcpdump: command not found; install it (Debian: apt-get install tcpdump)");
  const file = a.values.write ?? (process.stdout.isTTY ? undefined : "-");
  // -U: each packet written as it comes (a pipe to wireshark shows it at once).
  const output = file === undefined ? ["-l", "-n"] : ["-U", "-w", file];
  return runAttached(inNetns(netns, ["tcpdump", "-i", device, ...output, ...a.rest]));
}
