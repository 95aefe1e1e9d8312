import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { createLockFile, holderState, readLockFile } from "../provider/driver/lock";
import { shellQuote } from "../provider/errors";
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

/** Whose state a file is: the project and stack its URNs name. */
export interface StackRef {
  project: string;
  stack: string;
}

/** An unusable state file: the message names the file and what to do. */
export class StateError extends Error {}

/**
 * The state: the file, with the changes its journal records since it was written (a run that was
 * killed left them there). A last line cut short by the kill is an operation that never started;
 * any other line that does not parse is corruption, refused. With `owner`, a state whose URNs
 * name another project or stack (a file copied from elsewhere) is refused: a run on it would
 * delete the other stack's objects.
 */
export function readState(file: string, owner?: StackRef): Checkpoint | undefined {
  const text = readText(file);
  if (text === undefined) return undefined;
  const state = parseJson<Checkpoint>(file, text, "the state file");
  if (state?.version !== 3) throw new StateError(`${file}: unsupported state version ${JSON.stringify(state?.version)}: nslab reads version 3 (pulumi stack export)`);
  // `pulumi stack export` omits what is empty: an empty stack's resources, a resource's inputs and outputs.
  if (state.deployment && state.deployment.resources === undefined) state.deployment.resources = [];
  if (!Array.isArray(state.deployment?.resources)) throw new StateError(`${file}: not a state file: it has no deployment.resources list`);
  // `pulumi stack export` without --show-secrets: secrets encrypted by the stack's secrets provider.
  if (/"1b47061264138c4ac30d75fd1eb44270",\s*"ciphertext":/.test(text)) {
    throw new StateError(`${file}: holds secrets encrypted by Pulumi's secrets provider ("ciphertext"), which nslab cannot read; export the stack again with: pulumi stack export --show-secrets --file ${shellQuote(file)}`);
  }
  state.deployment.resources = state.deployment.resources.map((r) => ({ ...r, inputs: r.inputs ?? {}, outputs: r.outputs ?? {} }));
  if (owner) checkOwner(file, state.deployment.resources, owner);
  const journal = journalPath(file);
  const jtext = readText(journal);
  if (jtext === undefined) return state;
  const lines = jtext.split("\n");
  // A journal extends the file whose digest is `base`; one left beside a newer file is already in it.
  if (parseEntry(lines[0])?.base !== digest(text)) return state;
  const resources = new Map(state.deployment.resources.map((r) => [journalKey(r), r]));
  let pending = new Map((state.deployment.pending_operations ?? []).map((p) => [operationKey(p), p]));
  const last = lines.length - 1 - (lines[lines.length - 1] === "" ? 1 : 0);
  for (let i = 1; i <= last; i++) {
    const entry = parseEntry(lines[i]);
    if (!entry) {
      if (i === last) break;
      throw new StateError(`${journal}: line ${i + 1} is corrupt (not JSON), and ${last - i} line(s) after it record later changes; nslab cannot tell what the stack holds. Restore it from a backup (nslab needs it to know which objects are the stack's)`);
    }
    for (const key of entry.delete ?? []) resources.delete(key);
    for (const r of entry.put ?? []) resources.set(journalKey(r), r);
    if (entry.pending) pending = new Map(entry.pending.map((p) => [operationKey(p), p]));
    for (const key of entry.ended ?? []) pending.delete(key);
    for (const p of entry.started ?? []) pending.set(operationKey(p), p);
  }
  const { pending_operations: _, ...deployment } = state.deployment;
  return { ...state, deployment: { ...deployment, resources: [...resources.values()], ...(pending.size ? { pending_operations: [...pending.values()] } : {}) } };
}

/** The stack and project of every URN (`urn:pulumi:STACK::PROJECT::...`) must be the run's. */
function checkOwner(file: string, resources: ResourceState[], owner: StackRef): void {
  for (const r of resources) {
    const m = /^urn:pulumi:([^:]*)::([^:]*)::/.exec(String(r?.urn));
    if (m?.[1] === owner.stack && m[2] === owner.project) continue;
    const theirs = m ? `project "${m[2]}", stack "${m[1]}"` : `a resource with the URN ${JSON.stringify(r?.urn)}`;
    throw new StateError(
      `${file}: this state belongs to ${theirs}, not to project "${owner.project}", stack "${owner.stack}": a run on it would change the other stack's objects. ` +
        `Use that project's directory and --stack, or give this one its own --state-dir`,
    );
  }
}

function parseEntry(line: string | undefined): JournalEntry | undefined {
  try {
    return JSON.parse(line ?? "") as JournalEntry;
  } catch {
    return undefined;
  }
}

/** A state file's text, read without following a symbolic link; undefined when there is none. */
function readText(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw new StateError(`${file} is a symbolic link; nslab does not follow links to state files (another user could point them anywhere). Replace it with the file itself`);
    throw new StateError(`${file}: ${(err as Error).message}`);
  }
  try {
    return fs.readFileSync(fd, "utf8");
  } catch (err) {
    throw new StateError(`${file}: ${(err as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
}

function parseJson<T>(file: string, text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new StateError(`${file}: ${what} is not valid JSON (${(err as Error).message}); restore it from a backup (nslab needs it to know which objects are the stack's)`);
  }
}

/**
 * A resource's key in the journal: its URN; for an old resource waiting for deletion, which
 * shares the URN of the resource that replaced it, the URN and its id.
 */
const journalKey = (r: ResourceState) => (r.delete ? `${r.urn}\0${r.id ?? ""}` : r.urn);

/** An operation's key in the journal: its type and its resource's key. */
const operationKey = (p: PendingOperation) => `${p.type} ${journalKey(p.resource)}`;

/** One line of the journal: what changed in one write (resources in state form). */
interface JournalEntry {
  /** First line only: the digest of the state file the journal extends. */
  base?: string;
  put?: ResourceState[];
  /** Journal keys. */
  delete?: string[];
  /** Operations started since the previous entry. */
  started?: PendingOperation[];
  /** Operations ended since the previous entry: their keys. */
  ended?: string[];
  /** The whole list of operations under way (journals of nslab before `started` and `ended`). */
  pending?: PendingOperation[];
}

/** What a StateWriter reads from a run (engine/deployment.ts). */
export interface Journaled {
  /** The snapshot as it stands. */
  snapshot(): { resources: ResourceState[]; pending: PendingOperation[] };
  /** The operations under way. */
  pendingOperations(): PendingOperation[];
  /**
   * The URNs whose entries changed since the last call, each with its entries as they stand (the
   * resource, and old ones waiting for deletion that share its URN): none when it has none left.
   */
  changes(): Map<string, ResourceState[]>;
}

/**
 * Writes a run's state as it goes. The first write and the last rewrite the file whole; the ones
 * between append what changed to the journal, so a write costs what changed, not the whole state
 * (a state of 1000 resources is ~6 MB: rewriting it after every step made a run quadratic). What
 * changed is the run's to say (Journaled.changes): comparing the whole snapshot with what was
 * written cost every write a pass over the stack (1.7 s of CPU at 5000 resources). Entries are
 * compared by object: the run replaces an entry's object when it changes.
 */
export class StateWriter {
  /** What the state holds, by journal key. */
  private readonly written = new Map<string, ResourceState>();
  /** The journal keys written at each URN. */
  private readonly keysAt = new Map<string, string[]>();
  /** The operations under way as written: their journal keys, by resource. */
  private operations = new Map<ResourceState, string>();
  private base: string | undefined;

  constructor(private readonly file: string) {}

  write(run: Journaled, final = false): void {
    // Whole, the file holds what changed too.
    const changed = run.changes();
    if (this.base === undefined || final) {
      this.whole(run.snapshot(), final);
      return;
    }
    const entry: JournalEntry = {};
    const put: ResourceState[] = [];
    const gone: string[] = [];
    for (const [urn, entries] of changed) {
      const keys = entries.map(journalKey);
      entries.forEach((r, i) => {
        if (this.written.get(keys[i]!) === r) return;
        this.written.set(keys[i]!, r);
        put.push(r);
      });
      for (const key of this.keysAt.get(urn) ?? []) {
        if (keys.includes(key)) continue;
        this.written.delete(key);
        gone.push(key);
      }
      if (keys.length) this.keysAt.set(urn, keys);
      else this.keysAt.delete(urn);
    }
    if (put.length) entry.put = put.map(resourceToState);
    if (gone.length) entry.delete = gone;
    // Operations by what changed, not the whole list: with --parallel 32 the list holds up to 32
    // resources, and writing it whole at each change made most of the journal (64 MB at N=1000).
    const pending = run.pendingOperations();
    const operations = new Map(pending.map((p) => [p.resource, this.operations.get(p.resource) ?? operationKey(p)]));
    const started = pending.filter((p) => !this.operations.has(p.resource));
    const ended = [...this.operations].filter(([r]) => !operations.has(r)).map(([, key]) => key);
    if (started.length) entry.started = started.map(pendingToState);
    if (ended.length) entry.ended = ended;
    this.operations = operations;
    if (Object.keys(entry).length === 0) return;
    // O_NOFOLLOW: a link planted in place of the journal is an error, never a file written through it.
    const fd = fs.openSync(journalPath(this.file), fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW);
    try {
      fs.writeFileSync(fd, JSON.stringify(entry) + "\n");
    } finally {
      fs.closeSync(fd);
    }
  }

  private whole({ resources, pending }: { resources: ResourceState[]; pending: PendingOperation[] }, final: boolean): void {
    this.base = writeState(this.file, makeCheckpoint(resources.map(resourceToState), pending.map(pendingToState)), final);
    if (final) fs.rmSync(journalPath(this.file), { force: true });
    else replaceFile(journalPath(this.file), JSON.stringify({ base: this.base }) + "\n", false);
    this.written.clear();
    this.keysAt.clear();
    for (const r of resources) {
      const key = journalKey(r);
      this.written.set(key, r);
      this.keysAt.set(r.urn, [...(this.keysAt.get(r.urn) ?? []), key]);
    }
    this.operations = new Map(pending.map((p) => [p.resource, operationKey(p)]));
  }
}

const pendingToState = (p: PendingOperation): PendingOperation => ({ ...p, resource: resourceToState(p.resource) });

export function makeCheckpoint(resources: ResourceState[], pending: PendingOperation[] = []): Checkpoint {
  // manifest.magic is the CLI's checksum: hex SHA-256 of the engine version it records.
  const manifest = { time: new Date().toISOString(), magic: createHash("sha256").update(ENGINE_VERSION).digest("hex"), version: ENGINE_VERSION };
  return { version: 3, deployment: { manifest, resources, ...(pending.length ? { pending_operations: pending } : {}) } };
}

/**
 * Writes `state` to `file` atomically, mode 0600. The rename alone survives a killed process;
 * `durable` also survives a crash of the machine (fsync), for the final write of a run. Returns
 * the digest of what it wrote.
 */
export function writeState(file: string, state: Checkpoint, durable = false): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = JSON.stringify(state, null, 4) + "\n";
  replaceFile(file, text, durable);
  return digest(text);
}

/**
 * Replaces `file` with `text` through a temporary file created exclusively (O_EXCL never follows
 * a link planted under its name) and renamed over it (a rename replaces a link, never writes
 * through it).
 */
function replaceFile(file: string, text: string, durable: boolean): void {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = fs.openSync(tmp, "wx", 0o600);
  try {
    fs.writeFileSync(fd, text);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

/** The locks this process holds, by file, with how many times each is taken. */
const held = new Map<string, number>();

/**
 * Takes the stack's lock (a file naming its holder: provider/driver/lock.ts); a lock whose holder died is
 * taken over. This process may take it again while it holds it (up holds it from its preview to
 * its end). The state directory must be writable by this user only.
 */
export function lockStack(stateDir: string, stack: string): () => void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  checkStateDir(stateDir);
  const file = path.join(stateDir, `${stack}.lock`);
  const release = () => {
    const n = held.get(file)! - 1;
    if (n > 0) held.set(file, n);
    else {
      held.delete(file);
      fs.rmSync(file, { force: true });
    }
  };
  if (held.has(file)) {
    held.set(file, held.get(file)! + 1);
    return release;
  }
  while (!createLockFile(file)) {
    const record = readLockFile(file);
    if (record === undefined) continue;
    const holder = holderState(record);
    if (holder !== "dead") {
      const pid = record.split(" ")[0];
      const where = holder === "unknown" ? ` in another PID namespace; if it is not running, remove the lock file` : "";
      throw new StateError(`stack ${stack} is locked by a running nslab (pid ${pid}${where}); lock file ${file}`);
    }
    fs.rmSync(file, { force: true });
  }
  held.set(file, 1);
  return release;
}

/** A state directory another user can write to lets them plant links and files among the state files. */
function checkStateDir(dir: string): void {
  const st = fs.statSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw new StateError(`state directory ${dir} is not a directory`);
  if ((st.mode & 0o022) !== 0 || (uid !== undefined && st.uid !== uid)) {
    throw new StateError(
      `state directory ${dir} can be written by other users (mode ${(st.mode & 0o7777).toString(8)}, owner uid ${st.uid}): they could plant links or files among its state files. ` +
        `Use a directory of your own that only you can write: chmod go-w ${shellQuote(dir)}, or choose another --state-dir`,
    );
  }
}
