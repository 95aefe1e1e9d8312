import type * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "./check";

// A declarative diff: which inputs replace the kernel object and which change it in place.
// Every replace is delete-before-replace: the kernel name stays the same, so creating first
// would collide with the old object (docs/design.md, "Kernel names are identity").

export interface DiffSpec {
  /** Identity: a change (or an unknown value) replaces. Unset is a value here (e.g. the host netns). */
  replace: readonly string[];
  /** Changed in place; an unset input is not managed and never differs. */
  update: readonly string[];
}

export function planDiff(olds: Record<string, unknown>, news: Record<string, unknown>, spec: DiffSpec): pulumi.dynamic.DiffResult {
  const replaces = spec.replace.filter((k) => isUnknown(news[k]) || !same(olds[k], news[k]));
  const updates = spec.update.filter((k) => news[k] !== undefined && (isUnknown(news[k]) || !same(olds[k], news[k])));
  return {
    changes: replaces.length + updates.length > 0,
    replaces,
    deleteBeforeReplace: replaces.length > 0,
    stables: spec.replace.filter((k) => !replaces.includes(k)),
  };
}

/** The update keys whose value changed, for update(). */
export function changedKeys(olds: Record<string, unknown>, news: Record<string, unknown>, keys: readonly string[]): string[] {
  return keys.filter((k) => news[k] !== undefined && !same(olds[k], news[k]));
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
