import * as fs from "node:fs";
import * as path from "node:path";
import type { KindProvider } from "../lib/kind";
import { NslabError, withResource } from "../errors";
import { removeFiles } from "../driver/files";
import { isOurs, launch, LOG_DIR, logTail, OWNER_VARIABLE, stop } from "../driver/process";
import { commonRules, identityProblem, known, required, rule, validate } from "../lib/check";
import { planDiff, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { netnsNameProblem } from "../lib/names";
import { ownerHash, type Owner } from "../lib/owner";
import type { Host } from "../lib/host";

// Process: a long-running command in a namespace (driver/process.ts starts it). Its identity is
// the process, not its pid: pid, start time (/proc/PID/stat) and the NSLAB_OWNER mark in its
// environment together, so a pid the kernel reused never reads as ours. create first stops any
// process still carrying this resource's mark (left by a create that crashed before it was
// recorded), so a retried create never runs the command twice. Every input that the running
// process was started with replaces it (delete first: the new one usually wants the same port).

export interface ProcessReady {
  tcpPort: number;
  /** Seconds. */
  timeout?: number;
}

export interface ProcessInputs {
  netns: string;
  netnsIdentity?: string;
  command: string[];
  /** NAME=value. */
  env?: string[];
  cwd?: string;
  ready?: ProcessReady;
  /** Seconds between SIGTERM and SIGKILL at delete. */
  stopTimeout: number;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export interface ProcessOutputs extends ProcessInputs {
  pid: number;
  /** Field 22 of /proc/PID/stat. */
  startTime: string;
  logPath: string;
}

const KIND = "Process";
const DEFAULT_READY_TIMEOUT = 10;
/** A ready wait must end well before a command's own time limit in the driver (exec.ts, 120 s). */
const MAX_READY_TIMEOUT = 100;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const rules = [
  ...commonRules<ProcessInputs>(),
  required<ProcessInputs>("netns", "the namespace the command runs in: a Netns resource or a namespace name"),
  rule<ProcessInputs, "netns">("netns", netnsNameProblem),
  rule<ProcessInputs, "netnsIdentity">("netnsIdentity", identityProblem("netns")),
  required<ProcessInputs>("command", `the program and its arguments, e.g. ["python3", "-m", "http.server", "80"]`),
  rule<ProcessInputs, "command">("command", commandProblem),
  rule<ProcessInputs, "env">("env", (v) => {
    if (!Array.isArray(v)) return `use a list of "NAME=value" strings`;
    const bad = v.find((e) => known(e) && (typeof e !== "string" || !ENV_NAME.test(e.slice(0, e.indexOf("="))) || e.includes("\0")));
    if (bad !== undefined) return `${JSON.stringify(bad)} is not NAME=value (NAME from A-Z a-z 0-9 _, not starting with a digit)`;
    if (v.some((e) => e.startsWith(`${OWNER_VARIABLE}=`))) return `${OWNER_VARIABLE} is set by nslab (it marks the process as this resource's); leave it out`;
    return undefined;
  }),
  rule<ProcessInputs, "cwd">("cwd", (v, i) => {
    if (typeof v !== "string" || !path.isAbsolute(v)) return "use an absolute path";
    return i.host || isDirectory(v) ? undefined : "it is not a directory on this host; create it first or use another";
  }),
  rule<ProcessInputs, "ready">("ready", (v) => {
    if (typeof v !== "object" || Array.isArray(v)) return "use { tcpPort, timeout? }";
    if (!known(v.tcpPort)) return undefined;
    if (!Number.isInteger(v.tcpPort) || v.tcpPort < 1 || v.tcpPort > 65535) return "tcpPort: use an integer from 1 to 65535 (the port the command listens on in its namespace)";
    if (v.timeout !== undefined && known(v.timeout) && !(typeof v.timeout === "number" && v.timeout > 0 && v.timeout <= MAX_READY_TIMEOUT)) return `timeout: use seconds, more than 0 and at most ${MAX_READY_TIMEOUT}`;
    return undefined;
  }),
  rule<ProcessInputs, "stopTimeout">("stopTimeout", (v) => (typeof v === "number" && v >= 0 && v <= 300 ? undefined : "use seconds from 0 to 300")),
];

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Why the command cannot run, when that can be told before it is started. */
function commandProblem(v: string[], i: ProcessInputs): string | undefined {
  if (!Array.isArray(v) || v.length === 0) return `use a non-empty list: the program and its arguments, e.g. ["python3", "-m", "http.server", "80"]`;
  if (v.some((w) => typeof w !== "string" || w.includes("\0"))) return "use strings without NUL characters";
  const program = v[0]!;
  if (!known(program)) return undefined;
  if (program === "" || program.includes("=")) return `the program ${JSON.stringify(program)} is not a file name (it must not be empty or hold "=")`;
  if (program.includes("/") && !path.isAbsolute(program) && i.cwd === undefined) return `${program} is a relative path and no cwd is set; set cwd, or use an absolute path`;
  // A remote host's files are not looked at during check: the launcher fails there instead.
  if (i.host) return undefined;
  if (program.includes("/")) {
    if (!known(i.cwd) && !path.isAbsolute(program)) return undefined;
    const file = path.resolve(i.cwd ?? "/", program);
    return isExecutable(file) ? undefined : `${file} is not an executable file on this host`;
  }
  const searched = (i.env?.find((e) => e.startsWith("PATH="))?.slice(5) ?? process.env.PATH ?? "").split(":").filter((d) => d);
  if (searched.some((d) => isExecutable(path.join(d, program)))) return undefined;
  return `"${program}" is not found in PATH (${searched.join(":")}); install it, or give its absolute path`;
}

const DIFF: DiffSpec<ProcessInputs> = DIFFS.Process;

const logPathOf = (i: ProcessInputs) => path.join(LOG_DIR, `${ownerHash(i.owner)}.log`);

export const processKind: KindProvider<ProcessInputs, ProcessOutputs> = {
  async check(_olds, news) {
    const inputs = { ...news, stopTimeout: news.stopTimeout ?? 10 };
    return { inputs, failures: validate(inputs, rules) };
  },

  async diff(_id, olds, news) {
    return planDiff(olds, news, DIFF);
  },

  async create(inputs) {
    const owner = ownerHash(inputs.owner);
    const logPath = logPathOf(inputs);
    return withResource(KIND, inputs.owner, "create", async () => {
      await stop(owner, inputs.stopTimeout);
      const ready = inputs.ready && { tcpPort: inputs.ready.tcpPort, seconds: inputs.ready.timeout ?? DEFAULT_READY_TIMEOUT };
      const env = [`${OWNER_VARIABLE}=${owner}`, ...(inputs.env ?? [])];
      const r = await launch({ netns: inputs.netns, command: inputs.command, env, cwd: inputs.cwd, logPath, ready });
      if (r.state === "exited") {
        const tail = await logTail(logPath);
        await removeFiles(logPath);
        throw new NslabError("COMMAND_FAILED", `${inputs.command.join(" ")} exited at once with status ${exitText(r.exitCode)}; its output:\n${indent(tail)}`);
      }
      if (r.state === "not-ready") {
        await stop(owner, inputs.stopTimeout, r);
        const tail = await logTail(logPath);
        await removeFiles(logPath);
        throw new NslabError(
          "COMMAND_FAILED",
          `${inputs.command.join(" ")} did not listen on TCP port ${ready!.tcpPort} in namespace "${inputs.netns}" within ${ready!.seconds} s (it was stopped); its output:\n${indent(tail)}`,
        );
      }
      return { id: `process:${inputs.netns}/${r.pid}`, outs: { ...inputs, pid: r.pid, startTime: r.startTime, logPath } };
    });
  },

  async read(id, props) {
    if (!props || !(await isOurs(props.pid, props.startTime, ownerHash(props.owner)))) return {};
    return { id, props };
  },

  async update(_id, olds, news) {
    // Only ready and stopTimeout change in place: they matter at create and delete, not to the running process.
    return { outs: { ...olds, ...news } };
  },

  async delete(_id, props) {
    await withResource(KIND, props.owner, "delete", async () => {
      await stop(ownerHash(props.owner), props.stopTimeout, props);
      await removeFiles(props.logPath);
    });
  },
};

function exitText(code: number): string {
  return code > 128 ? `${code} (killed by signal ${code - 128})` : code === 127 ? "127 (the program was not found)" : String(code);
}

function indent(text: string): string {
  return (text || "(no output)")
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
