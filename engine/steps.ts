import { randomUUID } from "node:crypto";
import type { AliasSpec, Registration, RegisterResult, Severity } from "./monitor";
import { StepFailed } from "./monitor";
import { namespaceConfig, type Project } from "./project";
import { InitError, type ProviderHost, type Subject } from "./providerHost";
import type { PendingOperation, ResourceState } from "./state";
import { annotateSecrets, applyIgnoreChanges, changedKeys, displayedDiffs, PROVIDER_KEY, UNKNOWN, unwrapSecrets, type Props } from "./values";

// The engine's steps (docs/engine.md, "Per-resource steps"): what happens to each registered resource (Check,
// then Create, or Diff and Same / Update / Replace in either order), the delete phase in reverse
// dependency order, refresh through Read. Values are kept in wire form here (secrets as
// {sig, value}); the provider always sees plaintext (docs/engine.md, "Secrets and dynamic providers") and outputs are re-marked secret.

export type Op = "same" | "create" | "update" | "replace" | "delete";

export interface Step {
  op: Op;
  urn: string;
  type: string;
  diffs: string[];
  /** Old and new inputs of the changed keys, for `--diff`. */
  olds?: Props;
  news?: Props;
}

export interface Diagnostic {
  severity: Severity;
  message: string;
  urn?: string;
}

export interface Events {
  step(s: Step): void;
  diagnostic(d: Diagnostic): void;
  /** The snapshot changed: a resource was written, or an operation is about to start (resolves once saved). */
  changed(): Promise<void>;
}

export interface DeploymentOptions {
  project: Project;
  dryRun: boolean;
  parallel: number;
  /** The previous snapshot, in wire form. */
  resources: ResourceState[];
  provider: () => Promise<ProviderHost>;
  events: Events;
}

export const STACK_TYPE = "pulumi:pulumi:Stack";
const PROVIDER_TYPE = "pulumi:providers:pulumi-nodejs";
const DYNAMIC_TYPE = /^pulumi-nodejs:dynamic(\/[^:]*)?:[^:]+$/;

/** `urn:pulumi:<stack>::<project>::<qualified type>::<name>`. */
export function parseUrn(urn: string): { qualifiedType: string; name: string } {
  const [, , qualifiedType = "", ...name] = urn.split("::");
  return { qualifiedType, name: name.join("::") };
}

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

const plain = (p: Props) => unwrapSecrets(p);
const subject = (r: { urn: string; type: string }): Subject => ({ urn: r.urn, type: r.type, name: parseUrn(r.urn).name });

/** The URNs a resource depends on, for ordering: parent, dependencies, property dependencies, deletedWith, provider. */
function dependsOn(r: ResourceState): string[] {
  const deps = [...(r.dependencies ?? []), ...Object.values(r.propertyDependencies ?? {}).flat()];
  if (r.parent) deps.push(r.parent);
  if (r.deletedWith) deps.push(r.deletedWith);
  if (r.provider) deps.push(r.provider.slice(0, r.provider.lastIndexOf("::")));
  return deps;
}

export class Deployment {
  readonly steps: Step[] = [];
  readonly diagnostics: Diagnostic[] = [];
  failed = false;
  /** Interrupted: no new step starts; the ones in flight finish. */
  cancelled = false;
  stackOutputs: Props | undefined;

  private readonly limit: Limiter;
  /** Live resources of the previous snapshot by URN, and its pending deletes. */
  private readonly olds = new Map<string, ResourceState>();
  private readonly oldPending: ResourceState[] = [];
  /** Resources registered this run, in registration order (a dependency order). */
  private readonly news = new Map<string, ResourceState>();
  /** Old entries deleted during this run. */
  private readonly deleted = new Set<ResourceState>();
  /** Replaced create-before-delete: deleted in the delete phase. */
  private readonly replacedOlds: ResourceState[] = [];
  /** Dependents deleted before a replacement: created again, without a Diff, when registered. */
  private readonly recreate = new Set<string>();
  private readonly pending = new Map<ResourceState, PendingOperation["type"]>();
  private defaultProvider: Promise<string> | undefined;

  constructor(private readonly o: DeploymentOptions) {
    this.limit = new Limiter(Math.max(1, o.parallel));
    for (const r of o.resources) {
      if (r.delete) this.oldPending.push(r);
      else this.olds.set(r.urn, r);
    }
  }

  private urn(qualifiedType: string, name: string): string {
    return `urn:pulumi:${this.o.project.stack}::${this.o.project.name}::${qualifiedType}::${name}`;
  }

  private record(step: Step): void {
    this.steps.push(step);
    this.o.events.step(step);
  }

  fail(message: string, urn?: string): void {
    this.failed = true;
    const d: Diagnostic = { severity: "error", message, ...(urn ? { urn } : {}) };
    this.diagnostics.push(d);
    this.o.events.diagnostic(d);
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.fail("interrupted: the steps in flight finish, no new step starts, the state is saved");
  }

  diagnostic(d: Diagnostic): void {
    this.diagnostics.push(d);
    this.o.events.diagnostic(d);
  }

  /** Runs `op` on `r` with the operation recorded as pending while it is in flight. */
  private async pendingOp<T>(r: ResourceState, type: PendingOperation["type"], op: () => Promise<T>): Promise<T> {
    if (!this.o.dryRun) {
      this.pending.set(r, type);
      await void this.o.events.changed();
    }
    try {
      return await op();
    } finally {
      this.pending.delete(r);
    }
  }

  /**
   * A resource renamed or re-parented with `aliases` takes over the old resource at its first
   * alias URN that the previous state holds: the old entry moves to the new URN (and the
   * references of other old entries with it), so it is diffed rather than deleted and created.
   */
  private adoptAlias(urn: string, g: Registration): void {
    if (this.olds.has(urn)) return;
    for (const a of g.aliases) {
      const from = a.urn ?? this.aliasUrn(a, g);
      const old = from === undefined ? undefined : this.olds.get(from);
      if (!old || this.news.has(from!)) continue;
      this.olds.delete(from!);
      const move = (u: string) => (u === from ? urn : u);
      for (const [k, r] of this.olds) {
        this.olds.set(k, {
          ...r,
          ...(r.parent ? { parent: move(r.parent) } : {}),
          ...(r.dependencies ? { dependencies: r.dependencies.map(move) } : {}),
          ...(r.propertyDependencies ? { propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([p, us]) => [p, us.map(move)])) } : {}),
          ...(r.deletedWith ? { deletedWith: move(r.deletedWith) } : {}),
        });
      }
      this.olds.set(urn, { ...old, urn });
      return;
    }
  }

  /** The URN an alias spec names: the resource's own name, type and parent where it sets none. */
  private aliasUrn(a: AliasSpec, g: Registration): string | undefined {
    const parentUrn = a.noParent ? undefined : (a.parentUrn ?? g.parent);
    const parentType = parentUrn ? parseUrn(parentUrn).qualifiedType : undefined;
    const type = a.type ?? g.type;
    const qualifiedType = parentType && parentType !== STACK_TYPE ? `${parentType}$${type}` : type;
    return this.urn(qualifiedType, a.name ?? g.name);
  }

  /** The old (live, not yet deleted) resource at `urn`. */
  private old(urn: string): ResourceState | undefined {
    const r = this.olds.get(urn);
    return r && !this.deleted.has(r) ? r : undefined;
  }

  /** Handles one RegisterResource: the answer for the program, or StepFailed after a diagnostic. */
  async register(g: Registration): Promise<RegisterResult> {
    if (this.failed) throw new StepFailed();
    const parent = g.parent ? this.news.get(g.parent) : undefined;
    const qualifiedType = parent && parent.type !== STACK_TYPE ? `${parseUrn(parent.urn).qualifiedType}$${g.type}` : g.type;
    const urn = this.urn(qualifiedType, g.name);
    const label = `${g.type} resource '${g.name}'`;
    try {
      const problem = this.unsupported(g);
      if (problem) throw new Error(`nslab does not support ${problem}`);
      this.adoptAlias(urn, g);
      if (this.news.has(urn)) throw new Error(`duplicate resource URN ${urn}`);
      return g.custom ? await this.limit.run(() => this.custom(g, urn, parent)) : this.component(g, urn, parent);
    } catch (err) {
      if (!(err instanceof StepFailed)) this.fail(`${label}: ${(err as Error).message}`, urn);
      throw new StepFailed();
    }
  }

  private unsupported(g: Registration): string | undefined {
    if (g.remote) return `remote components (${g.type})`;
    if (g.type.startsWith("pulumi:providers:")) return `explicit provider resources (${g.type})`;
    if (g.provider) return `explicit providers (the provider option)`;
    if (g.custom && !DYNAMIC_TYPE.test(g.type)) return `${g.type}: only dynamic resources (pulumi.dynamic.Resource) and components run under nslab`;
    if (g.importId) return `importing resources (the import option)`;
    if (g.aliases.some((a) => a.type || a.stack || a.project)) return `aliases of another type, stack or project (only name and parent aliases)`;
    return undefined;
  }

  private component(g: Registration, urn: string, parent: ResourceState | undefined): RegisterResult {
    const old = this.old(urn);
    const entry: ResourceState = {
      urn,
      custom: false,
      type: g.type,
      inputs: g.inputs,
      outputs: old?.outputs ?? {},
      ...(parent ? { parent: parent.urn } : {}),
      ...this.options(g, parent),
      dependencies: g.dependencies,
      propertyDependencies: g.propertyDependencies,
    };
    this.news.set(urn, entry);
    const diffs = old ? displayedDiffs(old.inputs, g.inputs) : [];
    this.record({ op: !old ? "create" : diffs.length && g.type !== STACK_TYPE ? "update" : "same", urn, type: g.type, diffs });
    void this.o.events.changed();
    return { urn, id: "", outputs: {} };
  }

  /** protect, retainOnDelete and deletedWith, inherited from the parent engine-side. */
  private options(g: Registration, parent: ResourceState | undefined): Partial<ResourceState> {
    const protect = g.protect ?? parent?.protect;
    const retainOnDelete = g.retainOnDelete ?? parent?.retainOnDelete;
    const deletedWith = g.deletedWith || parent?.deletedWith;
    return { ...(protect ? { protect } : {}), ...(retainOnDelete ? { retainOnDelete } : {}), ...(deletedWith ? { deletedWith } : {}) };
  }

  private provider(): Promise<string> {
    this.defaultProvider ??= (async () => {
      const urn = this.urn(PROVIDER_TYPE, "default");
      const inputs = namespaceConfig(this.o.project, "pulumi-nodejs");
      const old = this.old(urn);
      const id = old?.id ?? (this.o.dryRun ? UNKNOWN : randomUUID());
      this.news.set(urn, { urn, custom: true, id, type: PROVIDER_TYPE, inputs, outputs: inputs });
      const diffs = old ? changedKeys(old.inputs, inputs) : [];
      this.record({ op: !old ? "create" : diffs.length ? "update" : "same", urn, type: PROVIDER_TYPE, diffs });
      return `${urn}::${id}`;
    })();
    return this.defaultProvider;
  }

  private async check(s: Subject, olds: Props, news: Props): Promise<Props> {
    const host = await this.o.provider();
    const r = await host.check(s, plain(olds), plain(news));
    if (r.failures.length) {
      throw new Error(r.failures.map((f) => (f.property ? `property ${f.property} has a problem: ${f.reason}` : `has a problem: ${f.reason}`)).join("; "));
    }
    return annotateSecrets(r.inputs, news);
  }

  private async custom(g: Registration, urn: string, parent: ResourceState | undefined): Promise<RegisterResult> {
    const host = await this.o.provider();
    const s: Subject = { urn, name: g.name, type: g.type };
    const providerRef = await this.provider();
    const old = this.old(urn);
    const news = old && g.ignoreChanges.length ? applyIgnoreChanges(old.inputs, g.inputs, g.ignoreChanges) : g.inputs;
    const checked = await this.check(s, old?.inputs ?? {}, news);
    const now = new Date().toISOString();
    const entry = (id: string, outputs: Props, inputs = checked): ResourceState => ({
      urn,
      custom: true,
      id,
      type: g.type,
      inputs,
      outputs,
      ...(parent ? { parent: parent.urn } : {}),
      ...this.options(g, parent),
      dependencies: g.dependencies,
      propertyDependencies: g.propertyDependencies,
      provider: providerRef,
      ...(g.ignoreChanges.length ? { ignoreChanges: g.ignoreChanges } : {}),
      ...(g.replaceOnChanges.length ? { replaceOnChanges: g.replaceOnChanges } : {}),
      created: old?.created ?? now,
      modified: now,
    });
    const create = async (inputs: Props): Promise<ResourceState> => {
      if (this.o.dryRun) return entry("", inputs, inputs);
      const wip = entry("", {}, inputs);
      const made = await this.pendingOp(wip, "creating", () => host.create(s, plain(inputs))).catch((err) => this.initError(err, wip));
      if (!made.id) throw new Error("the provider's create returned an empty id");
      return entry(made.id, annotateSecrets(made.outputs, inputs, g.additionalSecretOutputs), inputs);
    };
    const done = (r: ResourceState, step: Step): RegisterResult => {
      this.record(step);
      this.news.set(urn, r);
      void this.o.events.changed();
      return { urn, id: r.id ?? "", outputs: r.outputs };
    };
    const diffStep = (op: Op, diffs: string[], olds: Props): Step => ({ op, urn, type: g.type, diffs, olds: pick(olds, diffs), news: pick(checked, diffs) });

    if (!old) {
      const op = this.recreate.has(urn) ? "replace" : "create";
      return done(await create(checked), { op, urn, type: g.type, diffs: [] });
    }

    const diff = await host.diff(s, old.id ?? "", plain(old.outputs), plain(checked), plain(old.inputs), g.ignoreChanges);
    let changes = diff.changes;
    let replaces = diff.replaces;
    if (changes === "unknown") {
      // The legacy diff: old inputs against new inputs; replaceOnChanges applies only here.
      const keys = changedKeys(old.inputs, checked);
      changes = keys.length ? "some" : "none";
      replaces = keys.filter((k) => g.replaceOnChanges.some((p) => p === "*" || p === k || p.startsWith(`${k}.`) || p.startsWith(`${k}[`)));
    }
    // A resource left with initErrors (a partial create) is updated even when nothing changed.
    if (changes === "none" && old.initErrors?.length) changes = "some";
    const diffs = displayedDiffs(old.inputs, checked);

    if (changes === "none") return done(entry(old.id ?? "", old.outputs), { op: "same", urn, type: g.type, diffs: [] });

    if (replaces.length === 0) {
      if (this.o.dryRun) return done(entry(old.id ?? "", checked), diffStep("update", diffs, old.inputs));
      const wip = entry(old.id ?? "", old.outputs);
      const outs = await this.pendingOp(wip, "updating", () => host.update(s, old.id ?? "", plain(old.outputs), plain(checked), plain(old.inputs), g.ignoreChanges)).catch((err) =>
        this.initError(err, wip),
      );
      return done(entry(old.id ?? "", annotateSecrets(outs, checked, g.additionalSecretOutputs)), diffStep("update", diffs, old.inputs));
    }

    if (old.protect && this.options(g, parent).protect) {
      throw new Error(`cannot be replaced because it is protected (changed: ${replaces.join(", ")})`);
    }
    // A replacement is a new resource: Check again from nothing, with the program's inputs.
    const fresh = await this.check(s, {}, g.inputs);
    const step = diffStep("replace", [...new Set([...replaces, ...diffs])].sort(), old.inputs);
    if (this.o.dryRun) return done(entry("", fresh, fresh), step);
    const deleteBeforeReplace = g.deleteBeforeReplace ?? diff.deleteBeforeReplace;
    if (deleteBeforeReplace) {
      const dependents = await this.dependentReplacements(old);
      for (const d of dependents.reverse()) {
        await this.deleteOld(d);
        this.recreate.add(d.urn);
      }
      await this.deleteOld(old);
    } else {
      this.replacedOlds.push({ ...old, delete: true });
      this.deleted.add(old);
    }
    return done(await create(fresh), step);
  }

  /** A partial failure (docs/engine.md, "Failures"): the object exists; keep it in state with initErrors, then fail. */
  private initError(err: unknown, wip: ResourceState): never {
    if (err instanceof InitError && err.id && !this.o.dryRun) {
      this.news.set(wip.urn, { ...wip, id: err.id, outputs: err.properties, initErrors: [err.message] });
      void this.o.events.changed();
    }
    throw err;
  }

  /**
   * The old resources that must be replaced too when `target` is deleted before being replaced
   * (calculateDependentReplacements): a dependent whose inputs that depend on the replaced set
   * become unknown and whose Diff then asks for replacement. In dependency order.
   */
  private async dependentReplacements(target: ResourceState): Promise<ResourceState[]> {
    const host = await this.o.provider();
    const replaced = new Set([target.urn]);
    const result: ResourceState[] = [];
    for (const d of this.olds.values()) {
      if (d === target || !d.custom || d.type === PROVIDER_TYPE || this.deleted.has(d) || this.news.has(d.urn)) continue;
      const keys = Object.entries(d.propertyDependencies ?? {}).filter(([, deps]) => deps.some((u) => replaced.has(u))).map(([k]) => k);
      if (keys.length === 0) continue;
      const inputs = { ...d.inputs, ...Object.fromEntries(keys.map((k) => [k, UNKNOWN])) };
      const diff = await host.diff(subject(d), d.id ?? "", plain(d.outputs), plain(inputs), plain(d.inputs), d.ignoreChanges ?? []);
      if (diff.replaces.length) {
        replaced.add(d.urn);
        result.push(d);
      }
    }
    return result;
  }

  /** DeleteStep: protect fails; retainOnDelete, components and providers make no provider call. */
  private async deleteOld(r: ResourceState, deletedWithGoing = false): Promise<void> {
    if (r.protect) throw new Error(`resource ${r.urn} cannot be deleted because it is protected`);
    const call = r.custom && r.type !== PROVIDER_TYPE && !r.retainOnDelete && !deletedWithGoing && !this.o.dryRun;
    if (call) {
      const host = await this.o.provider();
      await this.pendingOp(r, "deleting", () => host.delete(subject(r), r.id ?? "", plain(r.outputs), plain(r.inputs)));
    }
    if (!this.o.dryRun) this.deleted.add(r);
    void this.o.events.changed();
  }

  /**
   * The delete phase (docs/engine.md, "The delete phase"): every old resource not registered this run and every pending delete,
   * each once all that depend on it are gone, as many at a time as `parallel` allows (no waves:
   * independent deletes overlap). The Stack goes last. Nothing new starts once a delete failed;
   * skipped when anything failed before. `all` condemns the whole snapshot (destroy).
   */
  async deletePhase(all = false): Promise<void> {
    if (this.failed) return;
    const condemned = [...this.oldPending, ...this.replacedOlds, ...[...this.olds.values()].filter((r) => !this.deleted.has(r) && (all || !this.news.has(r.urn)))];
    const reported = new Set([...this.olds.values()]);
    const going = new Set(condemned.map((r) => r.urn));
    const dependents = new Map<string, ResourceState[]>();
    for (const r of condemned) {
      for (const urn of new Set(dependsOn(r))) {
        if (urn === r.urn || !going.has(urn)) continue;
        if (!dependents.has(urn)) dependents.set(urn, []);
        dependents.get(urn)!.push(r);
      }
    }
    const gone = new Map<ResourceState, Promise<void>>();
    // A dependency cycle (never made by a program) is broken where it closes, not waited on forever.
    const visiting = new Set<ResourceState>();
    const remove = (r: ResourceState): Promise<void> => {
      if (visiting.has(r)) return Promise.resolve();
      let p = gone.get(r);
      if (p) return p;
      visiting.add(r);
      const after = (dependents.get(r.urn) ?? []).map(remove);
      // The Stack goes last, after the default provider too.
      if (r.type === STACK_TYPE) after.push(...condemned.filter((x) => x.type !== STACK_TYPE).map(remove));
      visiting.delete(r);
      gone.set(r, (p = Promise.all(after).then(() => this.deleteOne(r, going, reported))));
      return p;
    };
    await Promise.all(condemned.map(remove));
  }

  private deleteOne(r: ResourceState, going: ReadonlySet<string>, reported: ReadonlySet<ResourceState>): Promise<void> {
    return this.limit.run(async () => {
      if (this.cancelled || this.failed) return;
      try {
        await this.deleteOld(r, !!r.deletedWith && going.has(r.deletedWith));
        if (reported.has(r)) this.record({ op: "delete", urn: r.urn, type: r.type, diffs: [] });
      } catch (err) {
        this.fail(`${r.type} resource '${parseUrn(r.urn).name}': delete failed: ${(err as Error).message}`, r.urn);
      }
    });
  }

  /** Refresh: Read every custom resource with its old code; an empty id drops it. */
  async refresh(): Promise<void> {
    const host = await this.o.provider();
    await Promise.all(
      [...this.olds.values()].map((r) =>
        this.limit.run(async () => {
          if (!r.custom || r.type === PROVIDER_TYPE || this.cancelled) return;
          try {
            const read = await host.read(subject(r), r.id ?? "", plain(r.outputs), plain(r.inputs));
            if (!read.id) {
              this.deleted.add(r);
              this.record({ op: "delete", urn: r.urn, type: r.type, diffs: [] });
              return;
            }
            const outputs = annotateSecrets(read.outputs, r.outputs);
            const inputs = read.inputs ? annotateSecrets(read.inputs, r.inputs) : r.inputs;
            const diffs = displayedDiffs(r.outputs, outputs);
            // In place: the snapshot keeps its order.
            this.olds.set(r.urn, { ...r, id: read.id, outputs, inputs });
            this.record({ op: diffs.length ? "update" : "same", urn: r.urn, type: r.type, diffs, olds: pick(r.outputs, diffs), news: pick(outputs, diffs) });
          } catch (err) {
            this.fail(`${r.type} resource '${parseUrn(r.urn).name}': refresh failed: ${(err as Error).message}`, r.urn);
          }
        }),
      ),
    );
  }

  registerOutputs(urn: string, outputs: Props): void {
    const r = this.news.get(urn);
    if (r?.type === STACK_TYPE) this.stackOutputs = outputs;
    else if (r) r.outputs = outputs;
  }

  /**
   * The snapshot now: registered resources in registration order, then the old ones this run did
   * not touch, then pending deletes; stack outputs applied last.
   */
  snapshot(): { resources: ResourceState[]; pending: PendingOperation[] } {
    // The stack first and the default provider before its resources, whatever order things ran in.
    const stacks: ResourceState[] = [];
    const providers: ResourceState[] = [];
    const others: ResourceState[] = [];
    const add = (r: ResourceState) => (r.type === STACK_TYPE ? stacks : r.type === PROVIDER_TYPE ? providers : others).push(r);
    for (const r of this.news.values()) add(r.type === STACK_TYPE && this.stackOutputs ? { ...r, outputs: this.stackOutputs } : r);
    for (const r of this.olds.values()) if (!this.news.has(r.urn) && !this.deleted.has(r)) add(r);
    for (const r of [...this.replacedOlds, ...this.oldPending]) if (!this.deleted.has(r)) add(r);
    const resources = [...stacks, ...providers, ...others];
    const pending = [...this.pending].map(([resource, type]) => ({ resource, type }));
    return { resources, pending };
  }

  /** The outputs the program registered for its stack (preview: possibly unknown). */
  outputs(): Props {
    return this.stackOutputs ?? {};
  }
}

function pick(p: Props, keys: string[]): Props {
  return Object.fromEntries(keys.filter((k) => k !== PROVIDER_KEY && k in p).map((k) => [k, p[k]!]));
}
