import type { ErrorCode } from "../errors";

// How a failed iproute2 / iptables command is classified: by tool, exit code and stderr, because
// the two iptables backends use different exit codes for the same condition (kernel-facts.md
// §2.8). Every row is tested against the stderr recorded in kernel-facts.md.

export type Tool = "ip" | "iptables" | "other";

interface Row {
  tool: Tool | "any";
  /** Exit codes the row applies to; undefined = any. */
  exit?: readonly number[];
  stderr: RegExp;
  code: ErrorCode;
}

const TABLE: readonly Row[] = [
  // iproute2
  { tool: "ip", stderr: /RTNETLINK answers: File exists|Cannot create namespace file ".*": File exists|An interface with the same name exists in the target netns|Address already assigned|address already assigned/, code: "ALREADY_EXISTS" },
  { tool: "ip", stderr: /Cannot open network namespace ".*": No such file or directory|Invalid "netns" value|setting the network namespace ".*" failed/, code: "NO_NETNS" },
  { tool: "ip", stderr: /Cannot find device|Device does not exist|Cannot remove namespace file ".*": No such file or directory|Address not found|RTNETLINK answers: No such process|FIB table does not exist|RTNETLINK answers: No such device/, code: "NOT_FOUND" },
  { tool: "ip", stderr: /Operation not permitted|Permission denied/, code: "PERMISSION_DENIED" },
  { tool: "ip", stderr: /RTNETLINK answers: Device or resource busy/, code: "BUSY" },
  { tool: "ip", stderr: /Operation not supported|Unknown device type/, code: "UNSUPPORTED" },
  // iptables, both backends
  { tool: "iptables", stderr: /Another app is currently holding the xtables lock|Can't lock \/run\/xtables\.lock/, code: "LOCKED" },
  { tool: "iptables", stderr: /Chain already exists/, code: "ALREADY_EXISTS" },
  { tool: "iptables", stderr: /Bad rule \(does a matching rule exist in that chain\?\)|No chain\/target\/match by that name|Index of deletion too big|table '.*' does not exist|can't initialize iptables table/, code: "NOT_FOUND" },
  { tool: "iptables", stderr: /CHAIN_DEL failed \(Device or resource busy\)|Too many links|Directory not empty/, code: "BUSY" },
  { tool: "iptables", stderr: /Permission denied \(you must be root\)|Operation not permitted/, code: "PERMISSION_DENIED" },
  { tool: "any", exit: [127], stderr: /ENOENT|not found|No such file/, code: "UNSUPPORTED" },
];

/** The classification of a failed command; "COMMAND_FAILED" when no row matches. */
export function classify(tool: Tool, exitCode: number | undefined, stderr: string): ErrorCode {
  for (const row of TABLE) {
    if (row.tool !== "any" && row.tool !== tool) continue;
    if (row.exit && (exitCode === undefined || !row.exit.includes(exitCode))) continue;
    if (row.stderr.test(stderr)) return row.code;
  }
  if (/invalid|wrong|not valid|must be|too long|not allowed|Bad argument|Garbage|Error: /i.test(stderr)) return "INVALID";
  return "COMMAND_FAILED";
}

/** `ip` reads that raced with a change print this with exit 0; the read is repeated. */
export const DUMP_INTERRUPTED = /Dump was interrupted and may be inconsistent/;

/** The tool an argv belongs to, for classification. */
export function toolOf(argv: readonly string[]): Tool {
  const bin = argv[0] ?? "";
  if (bin === "ip") return "ip";
  if (bin.startsWith("iptables")) return "iptables";
  return "other";
}
