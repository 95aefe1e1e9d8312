import { currentHost } from "./driver/host";
import { hostLabel } from "./lib/host";
import { resourceName, type Owner } from "./lib/owner";

// Errors of the driver and the providers. Recognised by a Symbol.for brand rather than
// instanceof, so that two copies of the package (a program's and the provider host's)
// still recognise each other's errors.

const BRAND = Symbol.for("nslab.error");

/** What went wrong, in a word a caller can branch on. */
export type ErrorCode =
  | "COMMAND_FAILED"
  | "ALREADY_EXISTS"
  | "NOT_FOUND"
  | "NO_NETNS"
  | "BUSY"
  | "LOCKED"
  | "INVALID"
  | "PERMISSION_DENIED"
  | "UNSUPPORTED"
  | "CONFLICT"
  /** A remote host that ssh cannot reach (driver/ssh.ts). */
  | "UNREACHABLE";

export class NslabError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "NslabError";
  }
  static is(x: unknown, code?: ErrorCode): x is NslabError {
    return typeof x === "object" && x !== null && BRAND in x && (code === undefined || (x as NslabError).code === code);
  }
}

/** Quotes one argv word so the printed command can be pasted into a shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A command that exited non-zero (or printed a failure on stderr). The message shows the exact
 * argv, shell-quoted, and the tool's stderr. `code` is the classification of driver/classify.ts.
 */
export class CommandError extends NslabError {
  constructor(
    code: ErrorCode,
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    options?: { cause?: unknown; input?: string },
  ) {
    const input = options?.input ? `\n  input:\n${indent(options.input, "    ")}` : "";
    super(
      code,
      `command failed (exit ${exitCode ?? "signal"}):\n  $ ${argv.map(shellQuote).join(" ")}${input}\n${indent(stderr.trim() || "(no stderr)", "  ")}`,
      options,
    );
    this.name = "CommandError";
  }
}

function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");
}

/**
 * Thrown by create when the kernel object exists but setting it up did not finish and could not
 * be rolled back: the dynamic-provider host turns `id` and `properties` into a partial-create
 * answer, so the engine records the object instead of leaking it.
 */
export class PartialCreateError extends NslabError {
  constructor(
    message: string,
    readonly id: string,
    readonly properties: Record<string, unknown>,
    readonly reasons: string[],
    options?: { cause?: unknown },
  ) {
    super("COMMAND_FAILED", message, options);
    this.name = "PartialCreateError";
  }
}

/**
 * The error of a resource's operation: a new error whose message starts with the kind, the
 * resource's name and the action, with the original as its `cause`. It keeps the original's code
 * (NslabError.is and failedWith still answer), and a partial create stays one, with its id and
 * properties (what the dynamic-provider host turns into initErrors).
 */
export function forResource(kind: string, name: string, action: string, err: unknown): Error {
  const message = `${kind} "${name}": ${action}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof PartialCreateError) return new PartialCreateError(message, err.id, err.properties, err.reasons, { cause: err });
  if (NslabError.is(err)) return new NslabError(err.code, message, { cause: err });
  return new Error(message, { cause: err });
}

/**
 * Runs one operation of a resource; whatever it throws is rethrown as forResource's error, which
 * names the resource's host when it is not the provider's machine (driver/host.ts).
 */
export async function withResource<T>(kind: string, owner: Owner | undefined, action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const host = currentHost();
    throw forResource(kind, resourceName(owner), host ? `${action} on host ${hostLabel(host)}` : action, err);
  }
}
