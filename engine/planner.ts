import type { Registration } from "./monitor";
import type { DiffResult } from "./dynamicProviders";
import type { ResourceState } from "./state";
import type { Op, Step } from "./steps";
import { PROVIDER_TYPE, providerUrn, STACK_TYPE } from "./urn";
import { annotateSecrets, applyIgnoreChanges, changedKeys, displayedDiffs, PROVIDER_KEY, UNKNOWN, type Props } from "./values";

// The step planner (docs/engine.md, "Per-resource steps"): pure decisions, no provider calls and no state of its own. From the old
// state of a resource, its registration, its checked inputs and the provider's Diff it says which
// step to take and in what order the old and new objects go; the executor
// (deployment.ts) makes the calls these decisions ask for. Tested by tables in
// test/unit/planner.test.ts.

const DYNAMIC_TYPE = /^pulumi-nodejs:dynamic(\/[^:]*)?:[^:]+$/;

/** What nslab cannot run of a registration, or undefined. */
export function unsupported(registration: Registration): string | undefined {
  const { type } = registration;
  if (registration.remote) return `remote components (${type})`;
  if (type.startsWith("pulumi:providers:")) return `explicit provider resources (${type})`;
  if (registration.provider) return `explicit providers (the provider option)`;
  if (registration.custom && !DYNAMIC_TYPE.test(type)) return `${type}: only dynamic resources (pulumi.dynamic.Resource) and components run under nslab`;
  if (registration.importId) return `importing resources (the import option)`;
  if (registration.aliases.some((a) => a.type || a.stack || a.project)) return `aliases of another type, stack or project (only name and parent aliases)`;
  return undefined;
}

/** The message of a second registration of one URN (as the Pulumi engine words it). */
export const duplicateUrn = (urn: string) => `Duplicate resource URN '${urn}'; try giving it a unique name`;

/** protect, retainOnDelete and deletedWith, inherited from the parent engine-side. */
export function inheritedOptions(registration: Registration, parent: ResourceState | undefined): Pick<ResourceState, "protect" | "retainOnDelete" | "deletedWith"> {
  const protect = registration.protect ?? parent?.protect;
  const retainOnDelete = registration.retainOnDelete ?? parent?.retainOnDelete;
  const deletedWith = registration.deletedWith || parent?.deletedWith;
  return { ...(protect ? { protect } : {}), ...(retainOnDelete ? { retainOnDelete } : {}), ...(deletedWith ? { deletedWith } : {}) };
}

/** A component's step: its inputs compared (the Stack is never `update`d). */
export function componentStep(urn: string, old: ResourceState | undefined, registration: Registration): Step {
  const { type } = registration;
  const diffs = old ? displayedDiffs(old.inputs, registration.inputs) : [];
  return { op: !old ? "create" : diffs.length && type !== STACK_TYPE ? "update" : "same", urn, type, diffs };
}

/** The inputs given to Check: the program's, with the ignoreChanges paths reset to the old values. */
export function inputsToCheck(old: ResourceState | undefined, registration: Registration): Props {
  return old && registration.ignoreChanges.length ? applyIgnoreChanges(old.inputs, registration.inputs, registration.ignoreChanges) : registration.inputs;
}

/** What to do with a resource that has an old state, once its inputs are checked and diffed. */
export type Decision =
  | { op: "same" }
  | { op: "update"; diffs: string[] }
  /** deleteBeforeReplace: the old object (and its dependents that must go too) goes first; else the new one is made first and the old one deleted in the delete phase. */
  | { op: "replace"; diffs: string[]; replaces: string[]; deleteBeforeReplace: boolean };

export interface DecisionInput {
  old: ResourceState;
  registration: Registration;
  checked: Props;
  diff: DiffResult;
  /** The protect option of this registration (inherited from the parent). */
  protect: boolean;
}

/**
 * The step for a resource that exists: `same` when the Diff finds nothing (but a resource left
 * with initErrors by a partial create is updated anyway), `update` when nothing must be replaced,
 * else `replace` in the order the option, or else the Diff, asks. A provider without a Diff
 * answer gets the legacy diff: old inputs against new, where replaceOnChanges applies.
 */
export function decide({ old, registration, checked, diff, protect }: DecisionInput): Decision {
  let { changes, replaces } = diff;
  if (changes === "unknown") {
    const keys = changedKeys(old.inputs, checked);
    changes = keys.length ? "some" : "none";
    replaces = keys.filter((k) => registration.replaceOnChanges.some((p) => p === "*" || p === k || p.startsWith(`${k}.`) || p.startsWith(`${k}[`)));
  }
  if (changes === "none" && old.initErrors?.length) changes = "some";
  if (changes === "none") return { op: "same" };
  const diffs = displayedDiffs(old.inputs, checked);
  if (replaces.length === 0) return { op: "update", diffs };
  if (old.protect && protect) throw new Error(`cannot be replaced because it is protected (changed: ${replaces.join(", ")})`);
  const deleteBeforeReplace = registration.deleteBeforeReplace ?? diff.deleteBeforeReplace;
  return { op: "replace", diffs: [...new Set([...replaces, ...diffs])].sort(), replaces, deleteBeforeReplace };
}

/** A step with the old and new values of its changed keys (the provider's code left out). */
export function stepWithValues(op: Op, urn: string, type: string, diffs: string[], olds: Props, news: Props): Step {
  return { op, urn, type, diffs, olds: pick(olds, diffs), news: pick(news, diffs) };
}

function pick(p: Props, keys: string[]): Props {
  return Object.fromEntries(keys.filter((k) => k !== PROVIDER_KEY && k in p).map((k) => [k, p[k]!]));
}

/**
 * A candidate dependent replacement (calculateDependentReplacements): when the resources at
 * `replaced` are deleted before being replaced, the inputs of `candidate` that depend on them
 * become unknown; the Diff of these inputs says whether it must be replaced too. Undefined when
 * no input of the candidate depends on them.
 */
export function inputsWithUnknownDependencies(candidate: ResourceState, replaced: ReadonlySet<string>): Props | undefined {
  if (!candidate.custom || candidate.type === PROVIDER_TYPE) return undefined;
  const keys = Object.entries(candidate.propertyDependencies ?? {})
    .filter(([, deps]) => deps.some((u) => replaced.has(u)))
    .map(([k]) => k);
  if (keys.length === 0) return undefined;
  return { ...candidate.inputs, ...Object.fromEntries(keys.map((k) => [k, UNKNOWN])) };
}

/** The URNs a resource depends on, for ordering: parent, dependencies, property dependencies, deletedWith, provider. */
export function dependenciesOf(r: ResourceState): string[] {
  const deps = [...(r.dependencies ?? []), ...Object.values(r.propertyDependencies ?? {}).flat()];
  if (r.parent) deps.push(r.parent);
  if (r.deletedWith) deps.push(r.deletedWith);
  if (r.provider) deps.push(providerUrn(r.provider));
  return deps;
}

/**
 * Whether deleting `r` calls the provider: protect refuses (thrown); retainOnDelete, components,
 * providers, and a resource whose deletedWith target goes in this run only leave the state.
 */
export function deleteCallsProvider(r: ResourceState, deletedWithGoing: boolean): boolean {
  if (r.protect) throw new Error(`resource ${r.urn} cannot be deleted because it is protected`);
  return r.custom && r.type !== PROVIDER_TYPE && !r.retainOnDelete && !deletedWithGoing;
}

/** What a refresh found of `r`: gone (the Read returned no id), or its outputs as read. */
export type Finding = { gone: true; step: Step } | { gone: false; step: Step; resource: ResourceState };

export function refreshFinding(r: ResourceState, read: { id: string; outputs: Props; inputs?: Props }): Finding {
  if (!read.id) return { gone: true, step: { op: "delete", urn: r.urn, type: r.type, diffs: [] } };
  const outputs = annotateSecrets(read.outputs, r.outputs);
  const inputs = read.inputs ? annotateSecrets(read.inputs, r.inputs) : r.inputs;
  const diffs = displayedDiffs(r.outputs, outputs);
  const step = stepWithValues(diffs.length ? "update" : "same", r.urn, r.type, diffs, r.outputs, outputs);
  return { gone: false, step, resource: { ...r, id: read.id, outputs, inputs } };
}

/** An old resource with the references to `from` moved to `to` (an alias taken over). */
export function withMovedReferences(r: ResourceState, from: string, to: string): ResourceState {
  const move = (u: string) => (u === from ? to : u);
  return {
    ...r,
    ...(r.parent ? { parent: move(r.parent) } : {}),
    ...(r.dependencies ? { dependencies: r.dependencies.map(move) } : {}),
    ...(r.propertyDependencies ? { propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([p, us]) => [p, us.map(move)])) } : {}),
    ...(r.deletedWith ? { deletedWith: move(r.deletedWith) } : {}),
  };
}
