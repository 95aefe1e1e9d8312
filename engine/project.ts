import * as fs from "node:fs";
import * as path from "node:path";

// Reads a project the way the Pulumi CLI does: Pulumi.yaml (name, main) and Pulumi.<stack>.yaml
// (stack config), with --config key=value on top for this run only.

import { parse } from "yaml";

export interface Project {
  dir: string;
  name: string;
  stack: string;
  /** The program entry point given to cmd/run, relative to `dir` ("." = package.json main or index). */
  main: string;
  /** Full keys ("<namespace>:<key>") to string values, as PULUMI_CONFIG carries them. */
  config: Record<string, string>;
  /** Pulumi.yaml `options: refresh: always`: up, preview and destroy refresh first. */
  refresh: boolean;
}

export class ProjectError extends Error {}

function readYaml(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    // A document that expands aliases without bound (a "billion laughs") is refused, not expanded.
    doc = parse(fs.readFileSync(file, "utf8"), { maxAliasCount: 100 });
  } catch (err) {
    throw new ProjectError(`${file}: ${(err as Error).message}`);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ProjectError(`${file}: expected a mapping`);
  return doc as Record<string, unknown>;
}

/**
 * The entry point when Pulumi.yaml names none: "." (package.json's main, else index) when the
 * project has its own package.json; otherwise its index file. (The runtime would search upwards
 * for a package.json and could run an enclosing package instead, e.g. for an example kept inside
 * another package.)
 */
function defaultMain(dir: string): string {
  if (fs.existsSync(path.join(dir, "package.json"))) return ".";
  return ["index.ts", "index.js"].find((f) => fs.existsSync(path.join(dir, f))) ?? ".";
}

/** A config key with its namespace: an unqualified key belongs to the project. */
function fullKey(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

function configString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Pulumi's rule for project and stack names (tokens.IsName, at most 100 characters). */
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** Why `stack` is not a stack name Pulumi accepts, or undefined. */
export function stackNameProblem(stack: string): string | undefined {
  if (NAME.test(stack)) return undefined;
  return `stack name ${JSON.stringify(stack)} is not valid: use 1-100 characters from A-Z a-z 0-9 _ . - (as Pulumi does)`;
}

export function loadProject(dir: string, stack: string, overrides: Record<string, string> = {}): Project {
  const stackProblem = stackNameProblem(stack);
  if (stackProblem) throw new ProjectError(stackProblem);
  const projectFile = path.join(dir, "Pulumi.yaml");
  if (!fs.existsSync(projectFile)) throw new ProjectError(`${dir} is not a Pulumi project (no Pulumi.yaml)`);
  const doc = readYaml(projectFile);
  const name = doc.name;
  if (typeof name !== "string" || name === "") throw new ProjectError(`${projectFile}: missing project name`);
  if (!NAME.test(name)) throw new ProjectError(`${projectFile}: project name ${JSON.stringify(name)} is not valid: use 1-100 characters from A-Z a-z 0-9 _ . - (as Pulumi does)`);
  const runtime = typeof doc.runtime === "object" && doc.runtime !== null ? (doc.runtime as { name?: unknown }).name : doc.runtime;
  if (runtime !== "nodejs") throw new ProjectError(`${projectFile}: runtime ${JSON.stringify(runtime)} is not supported; nslab runs nodejs programs`);
  const main = typeof doc.main === "string" ? doc.main : defaultMain(dir);

  const config: Record<string, string> = {};
  const stackFile = path.join(dir, `Pulumi.${stack}.yaml`);
  const stackConfig = fs.existsSync(stackFile) ? (readYaml(stackFile).config ?? {}) : {};
  for (const [key, value] of Object.entries(stackConfig as Record<string, unknown>)) {
    if (typeof value === "object" && value !== null && "secure" in value) {
      throw new ProjectError(`${stackFile}: config ${key} is encrypted (secure:); nslab has no secrets provider, pass it with --config`);
    }
    config[fullKey(name, key)] = configString(value);
  }
  for (const [key, value] of Object.entries(overrides)) config[fullKey(name, key)] = value;
  const refresh = (doc.options as { refresh?: unknown } | undefined)?.refresh === "always";
  return { dir: path.resolve(dir), name, stack, main, config, refresh };
}

/** The config of one namespace, keyed without it (the default provider's inputs, docs/engine.md, "URNs, the Stack and the default provider"). */
export function namespaceConfig(project: Project, namespace: string): Record<string, string> {
  const prefix = `${namespace}:`;
  return Object.fromEntries(Object.entries(project.config).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}
