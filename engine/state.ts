import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { packageVersion } from "./packageRoot";
import { fromState, toState, type Props } from "./values";

// The state file: the shape `pulumi stack export` writes (deployment version 3, docs/engine.md,
// "The state file"), so a stack made by nslab can be handed to the real CLI. Values are in state form (secrets
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

/** The journal next to a state file: the changes since the file was last written whole. */
export function journalPath(file: string): string {
  return `${file}.journal`;
}

/**
 * The state: the file, with the changes its journal records since it was written (a run that was
 * killed left them there). A last line cut short by the kill is an operation that never started.
 */
export function readState(file: string): Checkpoint | undefined {
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(file, "utf8");
  const state = JSON.parse(text) as Checkpoint;
  if (state.version !== 3) throw new Error(`${file}: unsupported state version ${state.version}`);
  // `pulumi stack export` omits what is empty: an empty stack's resources, a resource's inputs and outputs.
  state.deployment.resources = (state.deployment.resources ?? []).map((r) => ({ ...r, inputs: r.inputs ?? {}, outputs: r.outputs ?? {} }));
  const journal = journalPath(file);
  if (!fs.existsSync(journal)) return state;
  const lines = fs.readFileSync(journal, "utf8").split("\n");
  // A journal extends the file whose digest is `base`; one left beside a newer file is already in it.
  if (parseEntry(lines[0])?.base !== digest(text)) return state;
  const resources = new Map(state.deployment.resources.map((r) => [journalKey(r), r]));
  let pending = state.deployment.pending_operations ?? [];
  for (const entry of lines.slice(1).map(parseEntry)) {
    if (!entry) continue;
    for (const key of entry.delete ?? []) resources.delete(key);
    for (const r of entry.put ?? []) resources.set(journalKey(r), r);
    if (entry.pending) pending = entry.pending;
  }
  const { pending_operations: _, ...deployment } = state.deployment;
  return { ...state, deployment: { ...deployment, resources: [...resources.values()], ...(pending.length ? { pending_operations: pending } : {}) } };
}

function parseEntry(line: string | undefined): JournalEntry | undefined {
  try {
    return JSON.parse(line ?? "") as JournalEntry;
  } catch {
    return undefined;
  }
}

/**
 * A resource's key in the journal: its URN; for an old resource waiting for deletion, which
 * shares the URN of the resource that replaced it, the URN and its id.
 */
const journalKey = (r: ResourceState) => (r.delete ? `${r.urn}\0${r.id ?? ""}` : r.urn);

/** One line of the journal: what changed in one write (resources in state form). */
interface JournalEntry {
  /** First line only: the digest of the state file the journal extends. */
  base?: string;
  put?: ResourceState[];
  /** Journal keys. */
  delete?: string[];
  /** The whole list of operations under way, when it changed. */
  pending?: PendingOperation[];
}

/**
 * Writes a run's state as it goes. The first write and the last rewrite the file whole; the ones
 * between append what changed to the journal, so a write costs what changed, not the whole state
 * (a state of 1000 resources is ~6 MB: rewriting it after every step made a run quadratic).
 * Resources are compared by object: the engine replaces a resource's object when it changes.
 */
export class StateWriter {
  private written = new Map<string, ResourceState>();
  private pending: PendingOperation[] = [];
  private base: string | undefined;

  constructor(private readonly file: string) {}

  write(resources: ResourceState[], pending: PendingOperation[], final = false): void {
    const next = new Map<string, ResourceState>();
    for (const r of resources) next.set(journalKey(r), r);
    if (this.base === undefined || final) {
      this.base = writeState(this.file, makeCheckpoint(resources.map(resourceToState), pending.map(pendingToState)), final);
      if (final) fs.rmSync(journalPath(this.file), { force: true });
      else fs.writeFileSync(journalPath(this.file), JSON.stringify({ base: this.base }) + "\n", { mode: 0o600 });
    } else {
      const entry: JournalEntry = {};
      const put: ResourceState[] = [];
      let kept = 0;
      for (const [key, r] of next) {
        const before = this.written.get(key);
        if (before) kept++;
        if (before !== r) put.push(r);
      }
      // Only when a key written before is not among the kept ones is there one to delete.
      const gone = kept === this.written.size ? [] : [...this.written.keys()].filter((key) => !next.has(key));
      if (put.length) entry.put = put.map(resourceToState);
      if (gone.length) entry.delete = gone;
      if (pending.length !== this.pending.length || pending.some((p, i) => p.resource !== this.pending[i]!.resource || p.type !== this.pending[i]!.type)) {
        entry.pending = pending.map(pendingToState);
      }
      if (Object.keys(entry).length === 0) return;
      fs.appendFileSync(journalPath(this.file), JSON.stringify(entry) + "\n", { mode: 0o600 });
    }
    this.written = next;
    this.pending = pending;
  }
}

const pendingToState = (p: PendingOperation): PendingOperation => ({ ...p, resource: resourceToState(p.resource) });

export function makeCheckpoint(resources: ResourceState[], pending: PendingOperation[] = []): Checkpoint {
  // manifest.magic is the CLI's checksum: hex SHA-256 of the engine version it records.
  const manifest = { time: new Date().toISOString(), magic: createHash("sha256").update(ENGINE_VERSION).digest("hex"), version: ENGINE_VERSION };
  return { version: 3, deployment: { manifest, resources, ...(pending.length ? { pending_operations: pending } : {}) } };
}

/**
 * Writes `state` to `file` atomically (temporary file + rename), mode 0600. The rename alone
 * survives a killed process; `durable` also survives a crash of the machine (fsync), for the
 * final write of a run. Returns the digest of what it wrote.
 */
export function writeState(file: string, state: Checkpoint, durable = false): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, "w", 0o600);
  let text: string;
  try {
    text = JSON.stringify(state, null, 4) + "\n";
    fs.writeFileSync(fd, text);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return digest(text);
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

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
