import type { ErrorCode } from "../errors";

// How a failed iproute2 / iptables command is classified: by tool, exit code and stderr, because
// the two iptables backends use different exit codes for the same condition (docs/kernel-facts.md,
// "iptables"). Every row is tested against the stderr recorded in docs/kernel-facts.md.

export type Tool = "ip" | "iptables" | "sysctl" | "tc" | "other";

interface Row {
  tool: Tool | "any";
  /** Exit codes the row applies to; undefined = any. */
  exit?: readonly number[];
  stderr: RegExp;
  code: ErrorCode;
}

const TABLE: readonly Row[] = [
  // Entering a namespace (`ip netns exec NS`, `nsenter --net=...`, `ip -n NS`) failed: before any tool's own rows.
  {
    tool: "any",
    stderr: /Cannot open network namespace ".*": No such file or directory|setting the network namespace ".*" failed|nsenter: cannot open .*: No such file or directory|nsenter: reassociate to namespace '.*' failed/,
    code: "NO_NETNS",
  },
  // The command to run inside the namespace is not installed.
  { tool: "any", stderr: /exec of ".*" failed: No such file or directory|nsenter: failed to execute .*: No such file or directory/, code: "UNSUPPORTED" },
  // iproute2
  { tool: "ip", stderr: /RTNETLINK answers: File exists|Cannot create namespace file ".*": File exists|An interface with the same name exists in the target netns|Address already assigned|address already assigned/, code: "ALREADY_EXISTS" },
  { tool: "ip", stderr: /Invalid "netns" value/, code: "NO_NETNS" },
  { tool: "ip", stderr: /Cannot find device|Device does not exist|Device ".*" does not exist\.|Cannot remove namespace file ".*": No such file or directory|Address not found|address not found|RTNETLINK answers: No such process|FIB table does not exist|RTNETLINK answers: No such device/, code: "NOT_FOUND" },
  { tool: "ip", stderr: /Operation not permitted|Permission denied/, code: "PERMISSION_DENIED" },
  { tool: "ip", stderr: /RTNETLINK answers: Device or resource busy/, code: "BUSY" },
  { tool: "ip", stderr: /Operation not supported|Unknown device type/, code: "UNSUPPORTED" },
  // tc (qdiscs); "Invalid handle": a delete of a root qdisc whose handle is not the one given
  { tool: "tc", stderr: /Specified qdisc kind is unknown/, code: "UNSUPPORTED" },
  { tool: "tc", stderr: /Cannot find device|Invalid handle|Cannot delete qdisc with handle of zero/, code: "NOT_FOUND" },
  { tool: "tc", stderr: /NLM_F_REPLACE needed|Exclusivity flag on/, code: "ALREADY_EXISTS" },
  { tool: "tc", stderr: /illegal value for/, code: "INVALID" },
  // iptables, both backends
  { tool: "iptables", stderr: /Another app is currently holding the xtables lock|Can't lock \/run\/xtables\.lock/, code: "LOCKED" },
  { tool: "iptables", stderr: /Chain already exists/, code: "ALREADY_EXISTS" },
  // A missing jump target is a missing chain too: nft "Chain 'X' does not exist", legacy "Couldn't load target `X'".
  // nft 1.8.9 answers `-S` of a missing chain with "chain `X' in table `T' is incompatible, use 'nft' tool.".
  { tool: "iptables", stderr: /Bad rule \(does a matching rule exist in that chain\?\)|No chain\/target\/match by that name|Index of deletion too big|table '.*' does not exist|can't initialize iptables table|Chain '.*' does not exist|Couldn't load target|is incompatible, use 'nft' tool/, code: "NOT_FOUND" },
  { tool: "iptables", stderr: /CHAIN_DEL failed \(Device or resource busy\)|Too many links|Directory not empty/, code: "BUSY" },
  { tool: "iptables", stderr: /Permission denied \(you must be root\)|Operation not permitted/, code: "PERMISSION_DENIED" },
  // sysctl(8)
  { tool: "sysctl", stderr: /sysctl: cannot stat .*: No such file or directory/, code: "NOT_FOUND" },
  { tool: "sysctl", stderr: /sysctl: permission denied on key|Operation not permitted|Permission denied/, code: "PERMISSION_DENIED" },
  { tool: "any", exit: [127], stderr: /ENOENT|not found|No such file/, code: "UNSUPPORTED" },
];

/** What a tool says about input it refuses, when no row above is more specific. */
const BAD_INPUT =
  /invalid|wrong|not valid|must be|too long|not allowed|may not|Bad argument|Bad IP address|Garbage|Error: |cannot be used when creating|Not enough information|^Usage: |unknown option|Can't use|COMMIT expected|host\/network .* not found/im;

/** The classification of a failed command; "COMMAND_FAILED" when no row matches. */
export function classify(tool: Tool, exitCode: number | undefined, stderr: string): ErrorCode {
  for (const row of TABLE) {
    if (row.tool !== "any" && row.tool !== tool) continue;
    if (row.exit && (exitCode === undefined || !row.exit.includes(exitCode))) continue;
    if (row.stderr.test(stderr)) return row.code;
  }
  if (BAD_INPUT.test(stderr)) return "INVALID";
  return "COMMAND_FAILED";
}

/** `ip` reads that raced with a change print this with exit 0; the read is repeated. */
export const DUMP_INTERRUPTED = /Dump was interrupted and may be inconsistent/;

/**
 * The tool an argv belongs to, for classification: the command run inside a namespace by
 * `ip netns exec NS CMD ...` or `nsenter [--option ...] CMD ...`, else the command itself.
 */
export function toolOf(argv: readonly string[]): Tool {
  let rest = argv;
  if (rest[0] === "ip" && rest[1] === "netns" && rest[2] === "exec") rest = rest.slice(4);
  else if (rest[0] === "nsenter") rest = rest.slice(1 + rest.slice(1).findIndex((w) => !w.startsWith("-")));
  const bin = rest[0] ?? "";
  if (bin === "ip") return "ip";
  if (bin.startsWith("iptables")) return "iptables";
  if (bin === "sysctl") return "sysctl";
  if (bin === "tc") return "tc";
  return "other";
}
