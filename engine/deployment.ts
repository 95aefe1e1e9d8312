import { randomUUID } from "node:crypto";
import { inDeleteOrder } from "./deletePhase";
import type { Registration, RegisterResult } from "./monitor";
import { StepFailed } from "./monitor";
import { componentStep, decide, deleteCallsProvider, duplicateUrn, inheritedOptions, inputsToCheck, inputsWithUnknownDependencies, refreshFinding, stepWithValues, unsupported, withMovedReferences, type Decision } from "./planner";
import { namespaceConfig, type Project } from "./project";
import { InitError, type Providers, type Subject } from "./dynamicProviders";
import type { Journaled, PendingOperation, ResourceState } from "./state";
import type { Diagnostic, Step } from "./steps";
import { aliasUrn, makeUrn, parseUrn, PROVIDER_TYPE, qualifiedType, STACK_TYPE } from "./urn";
import { annotateSecrets, changedKeys, UNKNOWN, unwrapSecrets, type Props } from "./values";

// The step executor: runs what the planner (planner.ts) decides for each registered resource
// (Check, then Create; or Diff, then Same / Update / Replace in either order), the delete phase,
// and refresh through Read, with every provider call that changes something recorded as a pending
// operation while it is in flight. Values are kept in wire form here (secrets as {sig, value});
// the provider always sees plaintext and outputs are re-marked secret (docs/engine.md, "Secrets
// and dynamic providers").

export interface Events {
  step(step: Step): void;
  /** What a refresh found of one resource (a step of the refresh). */
  finding(step: Step): void;
  diagnostic(diagnostic: Diagnostic): void;
  /** The snapshot changed: a resource was written, or an operation is about to start (resolves once saved). */
  changed(): Promise<void>;
}

export interface DeploymentOptions {
  project: Project;
  dryRun: boolean;
  parallel: number;
  /** The previous snapshot, in wire form. */
  resources: ResourceState[];
  providers: Providers;
  events: Events;
}

/**
 * --parallel's default. A step mostly waits (for its commands, for the state write that records
 * it), not computes, so more of them at once than the real CLI's 4 per core (8 here) shortens a
 * run on 2 cores (the star of `npm run bench`, docs/engine.md "Per-resource steps": up, up
 * --skip-preview and destroy faster and using less CPU at 32 than at 8 at N=50 and 200; 64 a little
 * faster again, for ~3 MiB more a step in flight: its bash job and command).
 */
export const DEFAULT_PARALLEL = 32;

/** Runs at most `n` tasks at a time (--parallel). */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly n: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.n) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/** A map by URN that notes each URN it sets or deletes: the state journal writes what changed (state.ts). */
class NotingMap extends Map<string, ResourceState> {
  constructor(private readonly note: (urn: string) => void) {
    super();
  }
  override set(urn: string, r: ResourceState): this {
    this.note(urn);
    return super.set(urn, r);
  }
  override delete(urn: string): boolean {
    this.note(urn);
    return super.delete(urn);
  }
}

/** A set of entries that notes the URN of each it adds. */
class NotingSet extends Set<ResourceState> {
  constructor(private readonly note: (urn: string) => void) {
    super();
  }
  override add(r: ResourceState): this {
    this.note(r.urn);
    return super.add(r);
  }
}

const plain = (p: Props) => unwrapSecrets(p);
const subjectOf = (r: { urn: string; type: string }): Subject => ({ urn: r.urn, type: r.type, name: parseUrn(r.urn).name });

export class Deployment implements Journaled {
  readonly steps: Step[] = [];
  /** The refresh's steps: what it found. */
  readonly findings: Step[] = [];
  readonly diagnostics: Diagnostic[] = [];
  private failedRun = false;
  /** Interrupted: no new step starts; the ones in flight finish. */
  private cancelled = false;
  private stackOutputs: Props | undefined;
  /**
   * Every change (an operation through the provider) waits for it: set by deploy.ts while an up's
   * program runs beside its type check, it rejects with StepFailed when the check found errors.
   */
  gate: Promise<void> | undefined;

  private readonly project: Project;
  private readonly dryRun: boolean;
  private readonly events: Events;
  private readonly providers: Providers;
  private readonly limiter: Limiter;
  /** The URNs whose entries changed since the state writer last asked (changes()). */
  private readonly touched = new Set<string>();
  private readonly touch = (urn: string) => void this.touched.add(urn);
  /** Live resources of the previous snapshot by URN, and its pending deletes. */
  private readonly olds = new NotingMap(this.touch);
  private readonly oldPendingDeletes: ResourceState[] = [];
  /** The URNs registered this run, from the moment their registration arrives. */
  private readonly registered = new Set<string>();
  /** Resources registered this run, as they stand, in registration order (a dependency order). */
  private readonly news = new NotingMap(this.touch);
  /** Old entries deleted during this run. */
  private readonly deleted = new NotingSet(this.touch);
  /** Replaced create-before-delete: deleted in the delete phase. */
  private readonly replacedOlds: ResourceState[] = [];
  /** Entries waiting for deletion (pending deletes and replaced olds) by URN. */
  private readonly waitingAt = new Map<string, ResourceState[]>();
  /** Dependents deleted before a replacement: created again, without a Diff, when registered. */
  private readonly recreate = new Set<string>();
  private readonly pending = new Map<ResourceState, PendingOperation["type"]>();
  private defaultProvider: Promise<string> | undefined;

  constructor(options: DeploymentOptions) {
    this.project = options.project;
    this.dryRun = options.dryRun;
    this.events = options.events;
    this.providers = options.providers;
    this.limiter = new Limiter(Math.max(1, options.parallel));
    for (const r of options.resources) {
      if (r.delete) this.wait(this.oldPendingDeletes, r);
      else this.olds.set(r.urn, r);
    }
  }

  /** Adds an entry waiting for deletion to `list`. */
  private wait(list: ResourceState[], r: ResourceState): void {
    list.push(r);
    this.waitingAt.set(r.urn, [...(this.waitingAt.get(r.urn) ?? []), r]);
    this.touch(r.urn);
  }

  get failed(): boolean {
    return this.failedRun;
  }

  private record(step: Step): void {
    this.steps.push(step);
    this.events.step(step);
  }

  /** Reports an error: the run fails, and no new step starts. */
  fail(message: string, urn?: string): void {
    this.failedRun = true;
    this.diagnostic({ severity: "error", message, ...(urn ? { urn } : {}) });
  }

  /** Interrupts the run: the steps in flight finish, no new one starts. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.fail("interrupted: the steps in flight finish, no new step starts, the state is saved");
  }

  /** The program ended with `code`: 32 is a failure it already reported; another non-zero code fails the run with its stderr. */
  programExited(code: number, stderr: string): void {
    if (code === 32) this.failedRun = true;
    else if (code !== 0) this.fail(`the program exited with code ${code}${stderr ? `:\n${stderr.trimEnd()}` : ""}`);
  }

  /** A diagnostic of the run (from the program or the engine); an error fails the run. */
  diagnostic(diagnostic: Diagnostic): void {
    if (diagnostic.severity === "error") this.failedRun = true;
    this.diagnostics.push(diagnostic);
    this.events.diagnostic(diagnostic);
  }

  /**
   * Throws StepFailed once the run was interrupted: called before every provider call that
   * changes something, so none starts after the interrupt, queued behind --parallel or not. (A
   * failure stops new registrations; the ones already under way go on.)
   */
  private mayStart(): void {
    if (this.cancelled) throw new StepFailed();
  }

  /** Runs `operation` on `r` with it recorded as pending while it is in flight. */
  private async pendingOperation<T>(r: ResourceState, type: PendingOperation["type"], operation: () => Promise<T>): Promise<T> {
    this.mayStart();
    if (this.dryRun) return operation();
    await this.gate;
    this.mayStart();
    this.pending.set(r, type);
    try {
      await this.events.changed();
      this.mayStart();
      return await operation();
    } finally {
      this.pending.delete(r);
    }
  }

  /**
   * A resource renamed or re-parented with `aliases` takes over the old resource at its first
   * alias URN that the previous state holds: the old entry moves to the new URN (and the
   * references of other old entries with it), so it is diffed rather than deleted and created.
   */
  private adoptAlias(urn: string, registration: Registration): void {
    if (this.olds.has(urn)) return;
    for (const alias of registration.aliases) {
      const from = aliasUrn(this.project, alias, registration);
      const old = this.olds.get(from);
      if (!old || this.registered.has(from)) continue;
      this.olds.delete(from);
      for (const [key, r] of this.olds) this.olds.set(key, withMovedReferences(r, from, urn));
      this.olds.set(urn, { ...old, urn });
      return;
    }
  }

  /** The old (live, not yet deleted) resource at `urn`. */
  private old(urn: string): ResourceState | undefined {
    const r = this.olds.get(urn);
    return r && !this.deleted.has(r) ? r : undefined;
  }

  /** Handles one RegisterResource: the answer for the program, or StepFailed after a diagnostic. */
  async register(registration: Registration): Promise<RegisterResult> {
    if (this.failedRun) throw new StepFailed();
    const parent = registration.parent ? this.news.get(registration.parent) : undefined;
    const urn = makeUrn(this.project, qualifiedType(parent?.urn, registration.type), registration.name);
    try {
      const problem = unsupported(registration);
      if (problem) throw new Error(`nslab does not support ${problem}`);
      if (this.registered.has(urn)) {
        this.fail(duplicateUrn(urn), urn);
        throw new StepFailed();
      }
      this.registered.add(urn);
      this.adoptAlias(urn, registration);
      if (!registration.custom) return this.component(registration, urn, parent);
      return await this.limiter.run(() => {
        this.mayStart();
        return this.custom(registration, urn, parent);
      });
    } catch (err) {
      if (!(err instanceof StepFailed)) this.fail(`${registration.type} resource '${registration.name}': ${(err as Error).message}`, urn);
      throw new StepFailed();
    }
  }

  private component(registration: Registration, urn: string, parent: ResourceState | undefined): RegisterResult {
    const old = this.old(urn);
    this.news.set(urn, {
      urn,
      custom: false,
      type: registration.type,
      inputs: registration.inputs,
      outputs: old?.outputs ?? {},
      ...(parent ? { parent: parent.urn } : {}),
      ...inheritedOptions(registration, parent),
      dependencies: registration.dependencies,
      propertyDependencies: registration.propertyDependencies,
    });
    this.record(componentStep(urn, old, registration));
    void this.events.changed();
    return { urn, id: "", outputs: {} };
  }

  /** The default provider's reference (`URN::id`), registered with the first custom resource. */
  private provider(): Promise<string> {
    this.defaultProvider ??= (async () => {
      const urn = makeUrn(this.project, PROVIDER_TYPE, "default");
      this.registered.add(urn);
      const inputs = namespaceConfig(this.project, "pulumi-nodejs");
      const old = this.old(urn);
      const id = old?.id ?? (this.dryRun ? UNKNOWN : randomUUID());
      this.news.set(urn, { urn, custom: true, id, type: PROVIDER_TYPE, inputs, outputs: inputs });
      const diffs = old ? changedKeys(old.inputs, inputs) : [];
      this.record({ op: !old ? "create" : diffs.length ? "update" : "same", urn, type: PROVIDER_TYPE, diffs });
      return `${urn}::${id}`;
    })();
    return this.defaultProvider;
  }

  private async check(subject: Subject, olds: Props, news: Props): Promise<Props> {
    const checked = await this.providers.check(subject, plain(olds), plain(news));
    if (checked.failures.length) {
      throw new Error(checked.failures.map((f) => (f.property ? `property ${f.property} has a problem: ${f.reason}` : `has a problem: ${f.reason}`)).join("; "));
    }
    return annotateSecrets(checked.inputs, news);
  }

  private async custom(registration: Registration, urn: string, parent: ResourceState | undefined): Promise<RegisterResult> {
    const subject: Subject = { urn, name: registration.name, type: registration.type };
    const providerReference = await this.provider();
    const old = this.old(urn);
    const checked = await this.check(subject, old?.inputs ?? {}, inputsToCheck(old, registration));
    const now = new Date().toISOString();
    const entry = (id: string, outputs: Props, inputs = checked): ResourceState => ({
      urn,
      custom: true,
      id,
      type: registration.type,
      inputs,
      outputs,
      ...(parent ? { parent: parent.urn } : {}),
      ...inheritedOptions(registration, parent),
      dependencies: registration.dependencies,
      propertyDependencies: registration.propertyDependencies,
      provider: providerReference,
      ...(registration.ignoreChanges.length ? { ignoreChanges: registration.ignoreChanges } : {}),
      ...(registration.replaceOnChanges.length ? { replaceOnChanges: registration.replaceOnChanges } : {}),
      created: old?.created ?? now,
      modified: now,
    });
    const create = async (inputs: Props): Promise<ResourceState> => {
      if (this.dryRun) return entry("", inputs, inputs);
      const inFlight = entry("", {}, inputs);
      const made = await this.pendingOperation(inFlight, "creating", () => this.providers.create(subject, plain(inputs))).catch((err) => this.keepPartial(err, inFlight));
      if (!made.id) throw new Error("the provider's create returned an empty id");
      return entry(made.id, annotateSecrets(made.outputs, inputs, registration.additionalSecretOutputs), inputs);
    };
    const done = (r: ResourceState, step: Step): RegisterResult => {
      this.record(step);
      this.news.set(urn, r);
      void this.events.changed();
      return { urn, id: r.id ?? "", outputs: r.outputs };
    };

    if (!old) {
      const op = this.recreate.has(urn) ? "replace" : "create";
      return done(await create(checked), { op, urn, type: registration.type, diffs: [] });
    }

    const diff = await this.providers.diff(subject, old.id ?? "", plain(old.outputs), plain(checked), plain(old.inputs), registration.ignoreChanges);
    const decision: Decision = decide({ old, registration, checked, diff, protect: !!inheritedOptions(registration, parent).protect });
    const id = old.id ?? "";
    if (decision.op === "same") return done(entry(id, old.outputs), { op: "same", urn, type: registration.type, diffs: [] });
    const step = stepWithValues(decision.op, urn, registration.type, decision.diffs, old.inputs, checked);

    if (decision.op === "update") {
      if (this.dryRun) return done(entry(id, checked), step);
      const inFlight = entry(id, old.outputs);
      const outputs = await this.pendingOperation(inFlight, "updating", () => this.providers.update(subject, id, plain(old.outputs), plain(checked), plain(old.inputs), registration.ignoreChanges)).catch((err) =>
        this.keepPartial(err, inFlight),
      );
      return done(entry(id, annotateSecrets(outputs, checked, registration.additionalSecretOutputs)), step);
    }

    // A replacement is a new resource: Check again from nothing, with the program's inputs.
    const fresh = await this.check(subject, {}, registration.inputs);
    if (this.dryRun) return done(entry("", fresh, fresh), step);
    await this.makeWayFor(old, decision.deleteBeforeReplace);
    return done(await create(fresh), step);
  }

  /**
   * Before the replacement of `old` is created: delete-before-replace deletes it now, after the
   * dependents that must be replaced with it (created again when registered); otherwise it stays
   * until the delete phase.
   */
  private async makeWayFor(old: ResourceState, deleteBeforeReplace: boolean): Promise<void> {
    if (deleteBeforeReplace) {
      const dependents = await this.dependentReplacements(old);
      for (const dependent of dependents.reverse()) {
        await this.deleteOld(dependent);
        this.recreate.add(dependent.urn);
      }
      await this.deleteOld(old);
    } else {
      this.mayStart();
      this.wait(this.replacedOlds, { ...old, delete: true });
      this.deleted.add(old);
    }
  }

  /** A partial failure (docs/engine.md, "Failures"): the object exists; keep it in state with initErrors, then fail. */
  private keepPartial(err: unknown, inFlight: ResourceState): never {
    if (err instanceof InitError && err.id && !this.dryRun) {
      this.news.set(inFlight.urn, { ...inFlight, id: err.id, outputs: err.properties, initErrors: [err.message] });
      void this.events.changed();
    }
    throw err;
  }

  /**
   * The old resources that must be replaced too when `target` is deleted before being replaced:
   * a dependent whose Diff asks for replacement once its inputs that depend on the replaced set
   * are unknown. In dependency order.
   */
  private async dependentReplacements(target: ResourceState): Promise<ResourceState[]> {
    const replaced = new Set([target.urn]);
    const result: ResourceState[] = [];
    for (const candidate of this.olds.values()) {
      if (candidate === target || this.deleted.has(candidate) || this.news.has(candidate.urn)) continue;
      const inputs = inputsWithUnknownDependencies(candidate, replaced);
      if (!inputs) continue;
      const diff = await this.providers.diff(subjectOf(candidate), candidate.id ?? "", plain(candidate.outputs), plain(inputs), plain(candidate.inputs), candidate.ignoreChanges ?? []);
      if (diff.replaces.length) {
        replaced.add(candidate.urn);
        result.push(candidate);
      }
    }
    return result;
  }

  /** Deletes an old resource: through the provider unless the planner says it only leaves the state. */
  private async deleteOld(r: ResourceState, deletedWithGoing = false): Promise<void> {
    if (deleteCallsProvider(r, deletedWithGoing) && !this.dryRun) {
      await this.pendingOperation(r, "deleting", () => this.providers.delete(subjectOf(r), r.id ?? "", plain(r.outputs), plain(r.inputs)));
    } else {
      this.mayStart();
    }
    if (!this.dryRun) this.deleted.add(r);
    void this.events.changed();
  }

  /**
   * The delete phase: every old resource not registered this run and every pending delete, in
   * delete order (deletePhase.ts), as many at a time as `parallel` allows. Nothing new starts once
   * a delete failed; skipped when anything failed before. `all` condemns the whole snapshot (destroy).
   */
  async deletePhase(all = false): Promise<void> {
    if (this.failedRun) return;
    const live = [...this.olds.values()].filter((r) => !this.deleted.has(r) && (all || !this.news.has(r.urn)));
    const condemned = [...this.oldPendingDeletes, ...this.replacedOlds, ...live];
    const reported = new Set(this.olds.values());
    const going = new Set(condemned.map((r) => r.urn));
    await inDeleteOrder(condemned, (r) =>
      this.limiter.run(async () => {
        if (this.cancelled || this.failedRun) return;
        try {
          await this.deleteOld(r, !!r.deletedWith && going.has(r.deletedWith));
          if (reported.has(r)) this.record({ op: "delete", urn: r.urn, type: r.type, diffs: [] });
        } catch (err) {
          if (!(err instanceof StepFailed)) this.fail(`${r.type} resource '${parseUrn(r.urn).name}': delete failed: ${(err as Error).message}`, r.urn);
        }
      }),
    );
  }

  /**
   * Refresh: Read every custom resource with its old code; an empty id drops it. Before up,
   * preview or destroy (--refresh) the run then goes on from what it read.
   */
  async refresh(): Promise<void> {
    await Promise.all(
      [...this.olds.values()].map((r) =>
        this.limiter.run(async () => {
          if (!r.custom || r.type === PROVIDER_TYPE || this.cancelled) return;
          try {
            const finding = refreshFinding(r, await this.providers.read(subjectOf(r), r.id ?? "", plain(r.outputs), plain(r.inputs)));
            if (finding.gone) this.deleted.add(r);
            // In place: the snapshot keeps its order.
            else this.olds.set(r.urn, finding.resource);
            this.findings.push(finding.step);
            this.events.finding(finding.step);
          } catch (err) {
            this.fail(`${r.type} resource '${parseUrn(r.urn).name}': refresh failed: ${(err as Error).message}`, r.urn);
          }
        }),
      ),
    );
  }

  registerOutputs(urn: string, outputs: Props): void {
    const r = this.news.get(urn);
    if (!r) return;
    if (r.type === STACK_TYPE) this.stackOutputs = outputs;
    this.news.set(urn, { ...r, outputs });
  }

  /**
   * The snapshot now: the Stack, the default provider, then the registered resources in
   * registration order, the old ones this run did not touch, and pending deletes; stack outputs
   * applied last.
   */
  snapshot(): { resources: ResourceState[]; pending: PendingOperation[] } {
    const stacks: ResourceState[] = [];
    const providers: ResourceState[] = [];
    const others: ResourceState[] = [];
    const add = (r: ResourceState) => (r.type === STACK_TYPE ? stacks : r.type === PROVIDER_TYPE ? providers : others).push(r);
    for (const r of this.news.values()) add(r);
    for (const r of this.olds.values()) if (!this.news.has(r.urn) && !this.deleted.has(r)) add(r);
    for (const r of [...this.replacedOlds, ...this.oldPendingDeletes]) if (!this.deleted.has(r)) add(r);
    return { resources: [...stacks, ...providers, ...others], pending: this.pendingOperations() };
  }

  pendingOperations(): PendingOperation[] {
    return [...this.pending].map(([resource, type]) => ({ resource, type }));
  }

  changes(): Map<string, ResourceState[]> {
    const changed = new Map([...this.touched].map((urn) => [urn, this.entriesAt(urn)]));
    this.touched.clear();
    return changed;
  }

  /** The snapshot's entries at `urn`: the resource registered or old, then the ones waiting for deletion. */
  private entriesAt(urn: string): ResourceState[] {
    const r = this.news.get(urn) ?? this.old(urn);
    const waiting = (this.waitingAt.get(urn) ?? []).filter((w) => !this.deleted.has(w));
    return r ? [r, ...waiting] : waiting;
  }

  /** The outputs the program registered for its stack (preview: possibly unknown). */
  outputs(): Props {
    return this.stackOutputs ?? {};
  }
}
