import * as pulumi from "@pulumi/pulumi";
import { derivedName } from "../../provider/lib/names";
import type { Owner } from "../../provider/lib/owner";
import "./runtime";

/** Arguments every nslab resource takes. */
export interface CommonArgs {
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
