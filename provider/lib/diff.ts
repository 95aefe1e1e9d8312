import type * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "./check";

// A declarative diff: which inputs replace the kernel object and which change it in place.
// Every replace is delete-before-replace: the kernel name stays the same, so creating first
// would collide with the old object (docs/design.md, "Kernel names are identity").

/** Which inputs of `I` replace the object and which change it in place (the kind's row of DIFFS). */
export interface DiffSpec<I> {
  /** Identity: a change (or an unknown value) replaces. Unset is a value here (e.g. the host netns). */
  replace: readonly (keyof I & string)[];
  /** Changed in place; an unset input is not managed and never differs. */
  update: readonly (keyof I & string)[];
}

export function planDiff<I>(olds: I, news: I, spec: DiffSpec<I>): pulumi.dynamic.DiffResult {
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
export function changedKeys<I>(olds: I, news: I, keys: readonly (keyof I & string)[]): (keyof I & string)[] {
  return keys.filter((k) => news[k] !== undefined && !same(olds[k], news[k]));
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
