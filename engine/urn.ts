import type { AliasSpec, Registration } from "./monitor";
import type { Project } from "./project";

// URNs: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, where a child's qualified type
// is its parent's followed by `$` and its own (the Stack is nobody's qualifier).

export const STACK_TYPE = "pulumi:pulumi:Stack";
export const PROVIDER_TYPE = "pulumi:providers:pulumi-nodejs";

export function parseUrn(urn: string): { qualifiedType: string; name: string } {
  const [, , qualifiedType = "", ...name] = urn.split("::");
  return { qualifiedType, name: name.join("::") };
}

export function makeUrn(project: Pick<Project, "stack" | "name">, qualifiedType: string, name: string): string {
  return `urn:pulumi:${project.stack}::${project.name}::${qualifiedType}::${name}`;
}

/** The qualified type of a resource of `type` under the parent at `parentUrn`. */
export function qualifiedType(parentUrn: string | undefined, type: string): string {
  const parentType = parentUrn ? parseUrn(parentUrn).qualifiedType : undefined;
  return parentType && parentType !== STACK_TYPE ? `${parentType}$${type}` : type;
}

/** The URN an alias spec names: the resource's own name, type and parent where it sets none. */
export function aliasUrn(project: Pick<Project, "stack" | "name">, alias: AliasSpec, registration: Registration): string {
  if (alias.urn) return alias.urn;
  const parentUrn = alias.noParent ? undefined : (alias.parentUrn ?? registration.parent);
  return makeUrn(project, qualifiedType(parentUrn || undefined, alias.type ?? registration.type), alias.name ?? registration.name);
}

/** The default provider's reference (`URN::id`) without its id. */
export const providerUrn = (reference: string) => reference.slice(0, reference.lastIndexOf("::"));
