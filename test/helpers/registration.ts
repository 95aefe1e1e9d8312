import type { Registration } from "../../engine/monitor";

/** A decoded RegisterResource of a dynamic resource "r" under no parent, with what `extra` sets. */
export const registration = (extra: Partial<Registration> = {}): Registration => ({
  type: "pulumi-nodejs:dynamic:Resource",
  name: "r",
  parent: "",
  custom: true,
  remote: false,
  inputs: { v: 1 },
  dependencies: [],
  propertyDependencies: {},
  provider: "",
  ignoreChanges: [],
  replaceOnChanges: [],
  additionalSecretOutputs: [],
  deletedWith: "",
  importId: "",
  aliases: [],
  ...extra,
});
