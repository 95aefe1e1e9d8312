import { shortHash } from "./names";

/**
 * Whose object this is: the SDK passes every resource this input (docs/design.md, "Ownership marks"), so the
 * provider can mark what it creates and recognise it again.
 */
export interface Owner {
  project: string;
  stack: string;
  /** The resource's name and its parents' names, outermost first. */
  path: string[];
}

export function ownerHash(owner: Owner): string {
  return shortHash([owner.project, owner.stack, ...owner.path], 12);
}

/** The resource's own (logical) name, for messages. */
export function resourceName(owner: Owner | undefined): string {
  return (Array.isArray(owner?.path) ? owner.path[owner.path.length - 1] : undefined) ?? "?";
}
