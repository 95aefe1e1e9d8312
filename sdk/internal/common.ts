import * as pulumi from "@pulumi/pulumi";
import { derivedName } from "../../provider/lib/names";
import type { Host } from "../../provider/lib/host";
import type { Owner } from "../../provider/lib/owner";
import "./runtime";

/** Where a resource or component is: every nslab resource and component takes it. */
export interface HostArgs {
  /**
   * The lab host whose kernel the object is made in, reached over SSH (docs/hosts.md). A plain
   * value: `{ address, user?, port?, identityFile? }`. A component places all its children there.
   * Changing it replaces the object.
   *
   * @default - the parent component's host, else the machine the provider runs on
   */
  readonly host?: Host;
}

/** Arguments every nslab resource takes. */
export interface CommonArgs extends HostArgs {
  /**
   * Take over an existing kernel object of the same name that nslab did not create (or that
   * another stack created). Without it, create fails on any object not marked as this resource's.
   *
   * @default false
   */
  readonly adopt?: pulumi.Input<boolean>;
}

/** The owner input: project, stack and the resource's path of names (docs/design.md, "Ownership marks"). */
export function ownerOf(name: string, opts: pulumi.ResourceOptions | undefined): Owner {
  const path = [name];
  for (let p = opts?.parent as { __name?: string; __pulumiType?: string; __parentResource?: unknown } | undefined; p; p = p.__parentResource as typeof p) {
    if (p.__pulumiType === "pulumi:pulumi:Stack" || p.__name === undefined) break;
    path.unshift(p.__name);
  }
  return { project: pulumi.getProject(), stack: pulumi.getStack(), path };
}

/** The default kernel name of a resource: its name plus a hash of owner, cut to `max` bytes. */
export function defaultName(owner: Owner, max: number): string {
  return derivedName(owner.path[owner.path.length - 1] ?? "nslab", [owner.project, owner.stack, ...owner.path.slice(0, -1)], max);
}

/** The host each component places its children on (placeOn). */
const placed = new WeakMap<pulumi.Resource, Host>();

/** Places a component's children on `host` (those given no host of their own); call before making them. */
export function placeOn(component: pulumi.ComponentResource, host: Host | undefined): void {
  if (host) placed.set(component, host);
}

/** A resource's host: its own, else the nearest parent component's (placeOn); undefined: the provider's machine. */
export function hostOf(host: Host | undefined, opts: pulumi.ResourceOptions | undefined): Host | undefined {
  for (let p = opts?.parent as (pulumi.Resource & { __parentResource?: pulumi.Resource }) | undefined; !host && p; p = p.__parentResource) host = placed.get(p);
  return host;
}
