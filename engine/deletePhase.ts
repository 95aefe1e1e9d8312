import { dependenciesOf } from "./planner";
import type { ResourceState } from "./state";
import { STACK_TYPE } from "./urn";

// The order of the delete phase (docs/engine.md, "The delete phase"): each condemned resource goes once everything that must be gone
// before it is gone, as many at a time as the caller allows (no waves: independent deletes
// overlap). The Stack goes last.

/**
 * The order of the delete phase: for each condemned resource, the condemned ones that must be
 * gone before it (those that depend on it; all others before the Stack, which goes last).
 */
export function deleteOrder(condemned: readonly ResourceState[]): Map<ResourceState, ResourceState[]> {
  const going = new Set(condemned.map((r) => r.urn));
  const dependents = new Map<string, ResourceState[]>();
  for (const r of condemned) {
    for (const urn of new Set(dependenciesOf(r))) {
      if (urn === r.urn || !going.has(urn)) continue;
      if (!dependents.has(urn)) dependents.set(urn, []);
      dependents.get(urn)!.push(r);
    }
  }
  const notStack = condemned.filter((r) => r.type !== STACK_TYPE);
  return new Map(condemned.map((r) => [r, [...(dependents.get(r.urn) ?? []), ...(r.type === STACK_TYPE ? notStack : [])]]));
}

/** Calls `remove` on each condemned resource in delete order; a dependency cycle (never made by a program) is broken where it closes. */
export async function inDeleteOrder(condemned: readonly ResourceState[], remove: (r: ResourceState) => Promise<void>): Promise<void> {
  const before = deleteOrder(condemned);
  const removals = new Map<ResourceState, Promise<void>>();
  const visiting = new Set<ResourceState>();
  const removal = (r: ResourceState): Promise<void> => {
    if (visiting.has(r)) return Promise.resolve();
    let p = removals.get(r);
    if (p) return p;
    visiting.add(r);
    const prerequisites = (before.get(r) ?? []).map(removal);
    visiting.delete(r);
    removals.set(r, (p = Promise.all(prerequisites).then(() => remove(r))));
    return p;
  };
  await Promise.all(condemned.map(removal));
}
