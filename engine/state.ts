import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { packageVersion } from "./packageRoot";
import { fromState, toState, type Props } from "./values";

// The state file: the shape `pulumi stack export` writes (deployment version 3, pulumi-engine.md
// §9), so a stack made by nslab can be handed to the real CLI. Values are in state form (secrets
// as {sig, plaintext}). Written atomically with mode 0600 (it holds secrets in plain text); one
// lock file per stack serialises runs.

/** One resource, as apitype.ResourceV3. */
export interface ResourceState {
  urn: string;
  custom: boolean;
  delete?: boolean;
  id?: string;
  type: string;
  inputs: Props;
  outputs: Props;
  parent?: string;
  protect?: boolean;
  retainOnDelete?: boolean;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
  provider?: string;
  initErrors?: string[];
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
  deletedWith?: string;
  created?: string;
  modified?: string;
}

export interface PendingOperation {
  resource: ResourceState;
  type: "creating" | "updating" | "deleting" | "reading";
}

export interface Checkpoint {
  version: 3;
  deployment: {
    manifest: { time: string; magic: string; version: string };
    resources: ResourceState[];
    pending_operations?: PendingOperation[];
  };
}

const ENGINE_VERSION = `nslab-${packageVersion}`;

/** A resource with its values in state form (secrets as {sig, plaintext}). */
export function resourceToState(r: ResourceState): ResourceState {
  return { ...r, inputs: toState(r.inputs), outputs: toState(r.outputs) };
}

/** A resource with its values in wire form (secrets as {sig, value}). */
export function resourceFromState(r: ResourceState): ResourceState {
  return { ...r, inputs: fromState(r.inputs), outputs: fromState(r.outputs) };
}

export function statePath(stateDir: string, stack: string): string {
  return path.join(stateDir, `${stack}.json`);
}

export function readState(file: string): Checkpoint | undefined {
  if (!fs.existsSync(file)) return undefined;
  const state = JSON.parse(fs.readFileSync(file, "utf8")) as Checkpoint;
  if (state.version !== 3) throw new Error(`${file}: unsupported state version ${state.version}`);
  return state;
}

export function makeCheckpoint(resources: ResourceState[], pending: PendingOperation[] = []): Checkpoint {
  // manifest.magic is the CLI's checksum: hex SHA-256 of the engine version it records.
  const manifest = { time: new Date().toISOString(), magic: createHash("sha256").update(ENGINE_VERSION).digest("hex"), version: ENGINE_VERSION };
  return { version: 3, deployment: { manifest, resources, ...(pending.length ? { pending_operations: pending } : {}) } };
}

/**
 * Writes `state` to `file` atomically (temporary file + rename), mode 0600. The rename alone
 * survives a killed process; `durable` also survives a crash of the machine (fsync), for the
 * final write of a run.
 */
export function writeState(file: string, state: Checkpoint, durable = false): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(state, null, 4) + "\n");
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the stack's lock (a file holding the owner's pid); a lock whose owner died is taken over. */
export function lockStack(stateDir: string, stack: string): () => void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, `${stack}.lock`);
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(fs.readFileSync(file, "utf8").trim());
      if (owner && alive(owner)) throw new Error(`stack ${stack} is locked by a running nslab (pid ${owner}); lock file ${file}`);
      fs.rmSync(file, { force: true });
    }
  }
}
