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

const RETRIES = 8;

/**
 * Runs argv (never through a shell) and returns its output, or throws a classified
 * CommandError carrying the argv, exit code and stderr. Retries what is transient: a read whose
 * dump was interrupted by a concurrent change (it exits 0), and the legacy xtables lock.
 */
export async function exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const { execa } = await import("execa");
  const [file, ...args] = argv;
  if (!file) throw new Error("exec: empty argv");
  for (let attempt = 0; ; attempt++) {
    hook?.(argv, count++);
    const r = await execa(file, args, {
      reject: false,
      input: options.input,
      stdin: options.input === undefined ? "ignore" : "pipe",
      env: { LC_ALL: "C" },
      timeout: 120_000,
    });
    const stderr = r.stderr;
    if (attempt < RETRIES && DUMP_INTERRUPTED.test(stderr)) continue;
    if (r.exitCode === 0 && !r.failed) return { stdout: r.stdout, stderr };
    const code = r.code === "ENOENT" ? "UNSUPPORTED" : classify(toolOf(argv), r.exitCode, stderr);
    if (code === "LOCKED" && attempt < RETRIES) {
      await new Promise((res) => setTimeout(res, 50 * 2 ** Math.min(attempt, 5)));
      continue;
    }
    const detail = r.code === "ENOENT" ? `${file}: command not found; install it (Debian: apt-get install ${packageOf(file)})` : stderr;
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
