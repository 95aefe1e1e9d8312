import * as fs from "node:fs";
import * as path from "node:path";
import { Node, Project, Scope, SyntaxKind, type ClassDeclaration, type InterfaceDeclaration, type JSDocableNode, type SourceFile, type Type } from "ts-morph";
import type { DiffSpec } from "../provider/lib/diff";
import { DIFFS } from "../provider/lib/diffs";
import { referencePage } from "./reference";

// `npm run schema`: schema.json, a Pulumi package schema (the shape of pulumi/pulumi's
// pkg/codegen/schema/pulumi.json), read with ts-morph from the SDK's own sources: every exported
// dynamic resource and component of sdk/resources and sdk/components, its `<Name>Args` (the
// constructor's `args`) and its public properties. The TSDoc there is the only description of
// every property; replaceOnChanges comes from the kind's diff lists (DIFFS, provider/lib/diffs.ts).
// Then docs/reference.md from schema.json. test/unit/schema.test.ts fails when either is stale.

const root = path.resolve(__dirname, "..");

export type TypeSpec =
  | { type: "string" | "number" | "boolean" }
  | { type: "array"; items: TypeSpec }
  | { $ref: string }
  | { oneOf: TypeSpec[] };

/** `plain`: an input that takes a value, not a `pulumi.Input` (a component's planning needs it when the program runs). */
export type PropertySpec = TypeSpec & { plain?: true; description: string; default?: boolean | number | string; replaceOnChanges?: true };

export interface ResourceSpec {
  isComponent?: true;
  description: string;
  inputProperties: Record<string, PropertySpec>;
  requiredInputs: string[];
  properties: Record<string, PropertySpec>;
  required: string[];
}

export interface EnumTypeSpec {
  type: "string";
  enum: { value: string }[];
}

export interface ObjectTypeSpec {
  type: "object";
  description: string;
  properties: Record<string, PropertySpec>;
  required: string[];
}

export interface PackageSchema {
  name: string;
  version: string;
  description: string;
  license: string;
  /** Dynamic resources' tokens belong to the `pulumi-nodejs` package (pulumi.dynamic.Resource). */
  allowedPackageNames: string[];
  resources: Record<string, ResourceSpec>;
  types: Record<string, EnumTypeSpec | ObjectTypeSpec>;
}

export interface Sources {
  project: Project;
  files: SourceFile[];
  /** The replace/update lists of the provider kind behind a dynamic resource of `file`. */
  diffOf(file: SourceFile): DiffLists;
}

export interface PackageInfo {
  name: string;
  version: string;
  description: string;
  license: string;
}

/** Every problem found, one per line (`file:line: Class.property: what to do`). */
export class SchemaError extends Error {
  constructor(readonly problems: string[]) {
    super(`schema.json not generated:\n  ${problems.join("\n  ")}`);
    this.name = "SchemaError";
  }
}

type Kind = "custom" | "component";
type DiffLists = DiffSpec<Record<string, unknown>>;

/** A class's resource kind, by its ancestors in @pulumi/pulumi. */
function kindOf(cls: ClassDeclaration): Kind | undefined {
  for (let b = cls.getBaseClass(); b; b = b.getBaseClass()) {
    if (b.getName() === "ComponentResource") return "component";
    if (b.getName() === "CustomResource") return "custom";
  }
  return undefined;
}

/** `pulumi.Input<T>` is T | Promise<T> | OutputInstance<T>; `pulumi.Output<T>` is OutputInstance<T> & Lifted<T>. */
function wrapped(t: Type): Type | undefined {
  if (t.isIntersection()) return t.getIntersectionTypes().map(wrapped).find((u) => u !== undefined);
  const name = t.getSymbol()?.getName();
  return name === "Promise" || name === "OutputInstance" ? t.getTypeArguments()[0] : undefined;
}

/** The members of a type with Input/Output unwrapped, whether it may be undefined, and whether it was wrapped (not plain). */
function members(t: Type): { types: Type[]; optional: boolean; eventual: boolean } {
  const types: Type[] = [];
  let optional = false;
  let eventual = false;
  const visit = (m: Type): void => {
    if (m.isUnion()) return void m.getUnionTypes().forEach(visit);
    if (m.isUndefined() || m.isNull()) return void (optional = true);
    const inner = wrapped(m);
    if (inner) return void ((eventual = true), visit(inner));
    if (!types.some((x) => x.compilerType === m.compilerType)) types.push(m);
  };
  visit(t);
  return { types, optional, eventual };
}

/** Paragraphs kept, the source's line wrapping dropped. */
function reflow(text: string): string {
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((p) => p.split("\n").map((l) => l.trim()).join(" "))
    .join("\n\n");
}

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** A token inside a `$ref`: Pulumi parses refs as URLs, so "/" in a token is escaped. */
const ref = (section: "resources" | "types", token: string) => `#/${section}/${token.replace(/\//g, "%2F")}`;

class Generator {
  readonly problems: string[] = [];
  readonly types: Record<string, EnumTypeSpec | ObjectTypeSpec> = {};

  constructor(private readonly pkg: PackageInfo) {}

  problem(node: Node, what: string): void {
    this.problems.push(`${path.relative(root, node.getSourceFile().getFilePath())}:${node.getStartLineNumber()}: ${what}`);
  }

  /** The type token a resource class registers, read from its `super(...)` call. */
  tokenOf(cls: ClassDeclaration, kind: Kind): string | undefined {
    const call = cls
      .getConstructors()[0]
      ?.getDescendantsOfKind(SyntaxKind.CallExpression)
      .find((c) => c.getExpression().getKind() === SyntaxKind.SuperKeyword);
    const literal = (i: number) => {
      const a = call?.getArguments()[i];
      return Node.isStringLiteral(a) ? a.getLiteralValue() : undefined;
    };
    // dynamic.Resource(provider, name, props, opts, module, type); ComponentResource(type, name, ...)
    const [module, type] = [literal(4), literal(5)];
    const token = kind === "component" ? literal(0) : module && type ? `pulumi-nodejs:dynamic/${module}:${type}` : undefined;
    if (!token) {
      this.problem(cls, `${cls.getName()}: its type token must be string literals in super(...) (${kind === "component" ? "the first argument" : "module and type, the 5th and 6th"})`);
    }
    return token;
  }

  /** Description and default of a documented node; a problem when it has no TSDoc. */
  doc(node: Node & JSDocableNode, what: string): { description: string; default?: boolean | number | string } {
    const jsDoc = node.getJsDocs().at(-1);
    const description = reflow(jsDoc?.getDescription() ?? "");
    if (!description) {
      this.problem(node, `${what} has no TSDoc: document it (every public property and class goes into schema.json and docs/reference.md)`);
      return { description: "" };
    }
    const tag = jsDoc?.getTags().find((t) => t.getTagName() === "default");
    const text = tag?.getCommentText()?.trim();
    if (text === undefined) return { description };
    // TSDoc: `@default - prose` when the default is not a literal value.
    if (text.startsWith("-")) return { description: `${description}\n\nDefault: ${reflow(text.slice(1))}` };
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === "boolean" || typeof value === "number" || typeof value === "string") return { description, default: value };
    } catch {
      // not JSON: reported below
    }
    this.problem(tag!, `${what}: @default ${text}: write a literal (true, 100, "tcp") or "- prose" for any other default`);
    return { description };
  }

  /** The schema type of a TypeScript type; `enumName` names its string-literal union. */
  typeOf(t: Type, at: Node, what: string, enumName: string): TypeSpec | undefined {
    const { types } = members(t);
    const specs: TypeSpec[] = [];
    const add = (s: TypeSpec | undefined) => {
      if (s && !specs.some((x) => JSON.stringify(x) === JSON.stringify(s))) specs.push(s);
    };
    const literals: string[] = [];
    const hasString = types.some((m) => m.isString());
    for (const m of types) {
      const decl = m.getSymbol()?.getDeclarations()[0];
      const kind = Node.isClassDeclaration(decl) ? kindOf(decl) : undefined;
      if (m.isStringLiteral()) literals.push(m.getLiteralValue() as string);
      else if (m.isString()) add({ type: "string" });
      else if (m.isNumber()) add({ type: "number" });
      else if (m.isBoolean() || m.isBooleanLiteral()) add({ type: "boolean" });
      else if (m.isArray()) add(this.arrayOf(m, at, what, enumName));
      else if (Node.isInterfaceDeclaration(decl)) add(this.objectOf(decl));
      else if (kind) {
        const token = this.tokenOf(decl as ClassDeclaration, kind);
        if (token) add({ $ref: ref("resources", token) });
      }
      // A resource accepted in place of a name (NetnsRef, LinkRef): the schema says "string", the TSDoc says both.
      else if (m.isObject() && hasString && m.getProperty("name")) continue;
      else this.problem(at, `${what}: type ${m.getText(at)} has no schema.json form (use string, number, boolean, string literals, arrays, interfaces or nslab resources)`);
    }
    if (literals.length && !hasString) add(this.enumOf(enumName, literals, at, what));
    if (specs.length === 0) return undefined;
    return specs.length === 1 ? specs[0] : { oneOf: specs };
  }

  arrayOf(m: Type, at: Node, what: string, enumName: string): TypeSpec | undefined {
    const items = this.typeOf(m.getArrayElementType()!, at, what, enumName);
    return items && { type: "array", items };
  }

  /** A named interface (a plain object argument) as a Pulumi object type. */
  objectOf(decl: InterfaceDeclaration): TypeSpec {
    const name = decl.getName();
    const token = `${this.pkg.name}:index:${name}`;
    if (!this.types[token]) {
      const spec: ObjectTypeSpec = { type: "object", description: this.doc(decl, name).description, properties: {}, required: [] };
      this.types[token] = spec; // before its properties, so a recursive type ends here
      for (const sym of decl.getType().getProperties()) {
        const p = sym.getDeclarations()[0];
        if (!Node.isPropertySignature(p)) continue;
        const prop = this.property(p, p.getType(), name, sym.getName(), true);
        if (prop) spec.properties[sym.getName()] = prop;
        if (!p.hasQuestionToken()) spec.required.push(sym.getName());
      }
    }
    return { $ref: ref("types", token) };
  }

  /** A string-literal union as a Pulumi enum type (`types`), shared by an input and its output. */
  enumOf(name: string, values: string[], at: Node, what: string): TypeSpec {
    const token = `${this.pkg.name}:index:${name}`;
    const spec: EnumTypeSpec = { type: "string", enum: values.map((value) => ({ value })) };
    const known = this.types[token];
    if (known && JSON.stringify(known) !== JSON.stringify(spec)) {
      this.problem(at, `${what}: ${values.join(" | ")} clashes with type ${token}, made earlier: an input and its output take the same literals`);
    }
    this.types[token] ??= spec;
    return { $ref: ref("types", token) };
  }

  /** One property of an Args interface, an interface or a class, or undefined after a problem. */
  property(node: Node & JSDocableNode, t: Type, owner: string, name: string, input: boolean): PropertySpec | undefined {
    const what = `${owner}.${name}`;
    const { description, default: value } = this.doc(node, what);
    const type = this.typeOf(t, node, what, `${owner}${upperFirst(name)}`);
    if (!description || !type) return undefined;
    const plain = input && !members(t).eventual ? { plain: true as const } : {};
    return { ...type, ...plain, description, ...(value !== undefined ? { default: value } : {}) };
  }

  resource(cls: ClassDeclaration, kind: Kind, diffOf: () => DiffLists): [string, ResourceSpec] | undefined {
    const name = cls.getName()!;
    const token = this.tokenOf(cls, kind);
    const args = cls.getConstructors()[0]?.getParameters()[1];
    const argsDecl = args?.getType().getSymbol()?.getDeclarations()[0];
    if (!args || !Node.isInterfaceDeclaration(argsDecl)) {
      this.problem(cls, `${name}: its constructor's second parameter must be an interface (${name}Args)`);
      return undefined;
    }
    const about = [cls, argsDecl].map((n) => reflow(n.getJsDocs().at(-1)?.getDescription() ?? "")).find((d) => d);
    if (!about) this.problem(argsDecl, `${name}: neither the class nor ${argsDecl.getName()} has TSDoc: describe the resource`);

    const replace = kind === "custom" ? new Set(diffOf().replace) : new Set<string>();
    const inputProperties: Record<string, PropertySpec> = {};
    const requiredInputs: string[] = [];
    for (const sym of args.getType().getProperties()) {
      const decl = sym.getDeclarations()[0];
      if (!Node.isPropertySignature(decl)) continue;
      const spec = this.property(decl, decl.getType(), name, sym.getName(), true);
      if (!spec) continue;
      inputProperties[sym.getName()] = replace.has(sym.getName()) ? { ...spec, replaceOnChanges: true } : spec;
      if (!decl.hasQuestionToken()) requiredInputs.push(sym.getName());
    }

    // Outputs: a dynamic resource echoes every input and adds its `declare`d properties (what the
    // provider returns; a declaration of an input says what the kernel reports for it); a
    // component's outputs are its public readonly properties.
    const outputs = new Map<string, { spec: PropertySpec; required: boolean }>();
    const output = ({ default: _, plain: __, ...spec }: PropertySpec) => spec;
    if (kind === "custom") {
      for (const [key, spec] of Object.entries(inputProperties)) outputs.set(key, { spec: output(spec), required: requiredInputs.includes(key) });
    }
    for (const p of cls.getProperties()) {
      if (p.isStatic() || p.getScope() !== Scope.Public) continue;
      if (!(kind === "component" ? p.isReadonly() : p.hasDeclareKeyword())) {
        this.doc(p, `${name}.${p.getName()}`); // public, so documented, though not an output
        continue;
      }
      const spec = this.property(p, p.getType(), name, p.getName(), false);
      if (!spec) continue;
      outputs.set(p.getName(), { spec: replace.has(p.getName()) ? { ...output(spec), replaceOnChanges: true } : output(spec), required: !members(p.getType()).optional });
    }
    const properties = Object.fromEntries([...outputs].map(([key, o]) => [key, o.spec]));
    const required = [...outputs].filter(([, o]) => o.required).map(([key]) => key);

    if (!token || !about) return undefined;
    return [token, { ...(kind === "component" ? { isComponent: true as const } : {}), description: about, inputProperties, requiredInputs, properties, required }];
  }
}

/** schema.json's content, or a SchemaError listing every problem. */
export function generateSchema(sources: Sources, pkg: PackageInfo): PackageSchema {
  const g = new Generator(pkg);
  const resources: Record<string, ResourceSpec> = {};
  for (const file of sources.files) {
    for (const cls of file.getClasses()) {
      const kind = kindOf(cls);
      if (!cls.isExported() || !kind) continue;
      const entry = g.resource(cls, kind, () => sources.diffOf(file));
      if (entry) resources[entry[0]] = entry[1];
    }
  }
  if (g.problems.length) throw new SchemaError(g.problems);
  return { ...pkg, allowedPackageNames: ["pulumi-nodejs"], resources, types: g.types };
}

export const schemaText = (schema: PackageSchema) => `${JSON.stringify(schema, null, 2)}\n`;

/** The SDK's resources and components, and their kinds' diff lists (DIFFS, by the file's name). */
export function sdkSources(): Sources {
  const project = new Project({ tsConfigFilePath: path.join(root, "tsconfig.json"), skipAddingFilesFromTsConfig: true });
  const files = project.addSourceFilesAtPaths([path.join(root, "sdk/resources/*.ts"), path.join(root, "sdk/components/*.ts")]);
  files.sort((a, b) => (a.getFilePath() < b.getFilePath() ? -1 : 1));
  return {
    project,
    files,
    diffOf(file) {
      const kind = upperFirst(file.getBaseNameWithoutExtension());
      const diff = (DIFFS as Record<string, DiffLists | undefined>)[kind];
      if (!diff) throw new SchemaError([`provider/lib/diffs.ts: DIFFS has no diff lists for ${kind}; add them there`]);
      return diff;
    },
  };
}

export function packageInfo(): PackageInfo {
  const { name, version, description, license } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  return { name, version, description, license };
}

export const SCHEMA_FILE = path.join(root, "schema.json");
export const REFERENCE_FILE = path.join(root, "docs/reference.md");

if (require.main === module) {
  try {
    const schema = generateSchema(sdkSources(), packageInfo());
    fs.writeFileSync(SCHEMA_FILE, schemaText(schema));
    fs.mkdirSync(path.dirname(REFERENCE_FILE), { recursive: true });
    fs.writeFileSync(REFERENCE_FILE, referencePage(schema));
    console.log(`wrote schema.json (${Object.keys(schema.resources).length} resources) and docs/reference.md`);
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    console.error(err.message);
    process.exitCode = 1;
  }
}
