import "../helpers/sandboxed";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run, type Operation, type Result } from "../../engine/deploy";
import { parseUrn } from "../../engine/urn";
import { readState, type Checkpoint } from "../../engine/state";
import type { Spec } from "./fixtures/recorder";

export type { Spec };

// A stack of the recorder fixture (fixtures/recorder: dynamic resources described by the `spec`
// config, whose provider appends every call to a file) with its own state directory, for
// pinning the engine's semantics (docs/engine.md) one behaviour at a time.

export const FIXTURE = path.join(__dirname, "fixtures/recorder");

export interface Call {
  call: "check" | "diff" | "create" | "update" | "delete" | "read";
  name: string;
  id?: string;
  olds?: boolean;
  value?: string;
  /** create: the pid of the process that called the provider (nslab's own). */
  pid?: number;
}

export class Lab {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-engine-"));
  readonly stateDir = path.join(this.dir, "state");
  readonly log = path.join(this.dir, "calls.jsonl");
  readonly stateFile = path.join(this.stateDir, "dev.json");

  /** Runs `op` with `spec` as the program; the provider's calls of this run only are in calls(). */
  run(op: Operation, spec?: Spec[], env: Record<string, string> = {}): Promise<Result> {
    fs.writeFileSync(this.log, "");
    // The program and the providers (called in the engine, this process) see this process's environment.
    process.env.ENGINE_TEST_LOG = this.log;
    process.env.ENGINE_TEST_GONE = env.ENGINE_TEST_GONE ?? "";
    return run(op, { dir: FIXTURE, stateDir: this.stateDir, config: spec ? { spec: JSON.stringify(spec) } : {}, parallel: 4 });
  }

  /** The provider calls of the last run, as "call name" strings in call order. */
  calls(): string[] {
    return this.callRecords().map((c) => `${c.call} ${c.name}`);
  }

  callRecords(): Call[] {
    return fs
      .readFileSync(this.log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Call);
  }

  state(): Checkpoint {
    return readState(this.stateFile)!;
  }

  /** The names of the user's resources in state, in state order. */
  names(): string[] {
    return this.state()
      .deployment.resources.filter((r) => !r.type.startsWith("pulumi:"))
      .map((r) => parseUrn(r.urn).name);
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The steps of a result for the user's resources, as "op name" strings (sorted: steps of one wave may interleave). */
export function ops(r: Result): string[] {
  return r.steps
    .filter((s) => !s.type.startsWith("pulumi:"))
    .map((s) => `${s.op} ${parseUrn(s.urn).name}`)
    .sort();
}

/** The processes under `pid` (children, their children, …), from /proc. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ")".
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  for (let level = [pid]; level.length; ) {
    level = [...parents].filter(([, parent]) => level.includes(parent)).map(([child]) => child);
    found.push(...level);
  }
  return found;
}

/** Whether `pid` runs (a zombie does not). */
export function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Resolves once none of `pids` runs. */
export async function ended(pids: number[]): Promise<void> {
  while (pids.some(running)) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Resolves once `predicate` holds, checked every 20 ms (an event, not a deadline). */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 20));
}
