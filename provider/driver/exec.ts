import { CommandError, NslabError } from "../errors";
import { classify, DUMP_INTERRUPTED, toolOf } from "./classify";

// The only file that spawns processes. execa is ESM-only: it is loaded with a real dynamic
// import() at call time (tsconfig `module: nodenext` keeps it un-lowered), never statically,
// so neither tsx nor Pulumi's closure serializer ever sees it (design.md decision 2).

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the command's stdin (ip -batch, iptables-restore). */
  input?: string;
}

/** Called before every command; a test throws from it to inject a fault at the Nth command. */
export type CommandHook = (argv: readonly string[], index: number) => void;

let hook: CommandHook | undefined;
let count = 0;

/** Installs (or, with undefined, removes) the fault-injection hook used by the crash tests. */
export function setCommandHook(h: CommandHook | undefined): void {
  hook = h;
  count = 0;
}

type ProcessHook = (argv: readonly string[], input: string | undefined) => void;
let processHook: ProcessHook | undefined;

/** Installs (or removes) an observer of every process started, for tests of batching. */
export function setProcessHook(h: ProcessHook | undefined): void {
  processHook = h;
}

/** Counts a command and lets the fault-injection hook see it (batch.ts counts its lines). */
export function beforeCommand(argv: readonly string[]): void {
  hook?.(argv, count++);
}

const RETRIES = 8;

/** What one run of a command printed, and how it ended. */
export interface RunResult extends ExecResult {
  exitCode: number | undefined;
  /** ENOENT when the program is not installed. */
  code?: string;
  timedOut: boolean;
}

/** Runs argv once (never through a shell), uncounted, whatever its exit code. */
export async function runOnce(argv: readonly string[], input?: string): Promise<RunResult> {
  const { execa } = await import("execa");
  const [file, ...args] = argv;
  if (!file) throw new Error("exec: empty argv");
  processHook?.(argv, input);
  const r = await execa(file, args, {
    reject: false,
    input,
    stdin: input === undefined ? "ignore" : "pipe",
    env: { LC_ALL: "C" },
    timeout: 120_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.failed && r.exitCode === 0 ? undefined : r.exitCode, code: r.code, timedOut: r.timedOut };
}

/**
 * Runs argv (never through a shell) and returns its output, or throws a classified
 * CommandError carrying the argv, exit code and stderr. Retries what is transient: a read whose
 * dump was interrupted by a concurrent change (it exits 0), and the legacy xtables lock.
 */
export async function exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  for (let attempt = 0; ; attempt++) {
    beforeCommand(argv);
    const r = await runOnce(argv, options.input);
    const stderr = r.stderr;
    if (attempt < RETRIES && DUMP_INTERRUPTED.test(stderr)) continue;
    if (r.exitCode === 0) return { stdout: r.stdout, stderr };
    const code = r.code === "ENOENT" ? "UNSUPPORTED" : classify(toolOf(argv), r.exitCode, stderr);
    if (code === "LOCKED" && attempt < RETRIES) {
      await new Promise((res) => setTimeout(res, 50 * 2 ** Math.min(attempt, 5)));
      continue;
    }
    const detail = r.code === "ENOENT" ? `${argv[0]}: command not found; install it (Debian: apt-get install ${packageOf(argv[0]!)})` : stderr;
    throw new CommandError(code, argv, r.exitCode, detail, { input: options.input });
  }
}

function packageOf(file: string): string {
  if (file.startsWith("iptables")) return "iptables";
  if (file === "ip") return "iproute2";
  return file;
}

/** True when err is a CommandError of one of the codes. */
export function failedWith(err: unknown, ...codes: NslabError["code"][]): boolean {
  return NslabError.is(err) && codes.includes(err.code);
}
