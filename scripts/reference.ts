import type { ObjectTypeSpec, PackageSchema, PropertySpec, ResourceSpec, TypeSpec } from "./schema";

// docs/reference.md from schema.json alone (written by `npm run schema`, checked by
// test/unit/schema.test.ts): every resource and component, every input with its type, whether it
// is required, its default and what changing it does, and the outputs beyond the inputs.

const DEFAULT = /\n\nDefault: ([^]*)$/;

const nameOf = (token: string) => token.slice(token.lastIndexOf(":") + 1);
const link = (token: string) => `[${nameOf(token)}](#${nameOf(token).toLowerCase()})`;
/** One table cell: paragraphs on one line, pipes escaped. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n\n/g, "<br><br>").replace(/\n/g, " ");

function typeText(schema: PackageSchema, t: TypeSpec): string {
  if ("oneOf" in t) return t.oneOf.map((u) => typeText(schema, u)).join(" | ");
  if ("$ref" in t) {
    const [, section, escaped] = /^#\/(resources|types)\/(.*)$/.exec(t.$ref)!;
    const token = decodeURIComponent(escaped!);
    const type = section === "types" ? schema.types[token]! : undefined;
    return type && "enum" in type ? type.enum.map((e) => `\`${JSON.stringify(e.value)}\``).join(" | ") : link(token);
  }
  if (t.type === "array") return `${typeText(schema, t.items)}[]`;
  return t.type;
}

/** The description without its "Default: …" paragraph, and the default as text. */
function split(p: PropertySpec): { description: string; default: string } {
  if (p.default !== undefined) return { description: p.description, default: `\`${JSON.stringify(p.default)}\`` };
  return { description: p.description.replace(DEFAULT, ""), default: DEFAULT.exec(p.description)?.[1] ?? "" };
}

/** The rows of a property table: name, type, required, default (then the caller's columns), description. */
function rows(schema: PackageSchema, props: Record<string, PropertySpec>, required: string[], more: (p: PropertySpec) => string[] = () => []): string[][] {
  return Object.entries(props).map(([key, p]) => {
    const { description, default: value } = split(p);
    return [`\`${key}\``, typeText(schema, p) + (p.plain ? " (plain)" : ""), required.includes(key) ? "yes" : "no", value, ...more(p), description];
  });
}

function inputsTable(schema: PackageSchema, r: ResourceSpec): string[] {
  const head = r.isComponent ? ["Input", "Type", "Required", "Default", "Description"] : ["Input", "Type", "Required", "Default", "On change", "Description"];
  const change = (p: PropertySpec) => (r.isComponent ? [] : [p.replaceOnChanges ? "replaces" : "in place"]);
  return table(head, rows(schema, r.inputProperties, r.requiredInputs, change));
}

function outputsTable(schema: PackageSchema, r: ResourceSpec): string[] {
  const extra = Object.entries(r.properties).filter(([key]) => r.isComponent || !(key in r.inputProperties));
  const title = r.isComponent ? "Outputs" : "Outputs besides the inputs";
  if (extra.length === 0) return [`${title}: none.`];
  return [
    `${title}:`,
    "",
    ...table(
      ["Output", "Type", "Description"],
      extra.map(([key, p]) => [`\`${key}\``, typeText(schema, p) + (r.required.includes(key) ? "" : " (optional)"), p.description]),
    ),
  ];
}

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---|").join("")}`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];
}

function section(schema: PackageSchema, token: string, r: ResourceSpec): string[] {
  return [
    `### ${nameOf(token)}`,
    "",
    `Type token: \`${token}\``,
    "",
    r.description,
    "",
    ...inputsTable(schema, r),
    "",
    ...outputsTable(schema, r),
    "",
  ];
}

function typeSection(schema: PackageSchema, token: string, t: ObjectTypeSpec): string[] {
  return [`### ${nameOf(token)}`, "", t.description, "", ...table(["Property", "Type", "Required", "Default", "Description"], rows(schema, t.properties, t.required)), ""];
}

export function referencePage(schema: PackageSchema): string {
  const entries = Object.entries(schema.resources);
  const resources = entries.filter(([, r]) => !r.isComponent);
  const components = entries.filter(([, r]) => r.isComponent);
  const objects = Object.entries(schema.types).flatMap(([token, t]) => ("properties" in t ? [[token, t] as const] : []));
  const index = (list: readonly (readonly [string, unknown])[]) => list.map(([token]) => link(token)).join(" · ");
  const lines = [
    `# ${schema.name} ${schema.version} reference`,
    "",
    "<!-- Generated from schema.json by `npm run schema`: edit the TSDoc in sdk/, not this file. -->",
    "",
    "Every input may be a `pulumi.Input`, except those marked (plain), which take a value. Every resource",
    "takes the usual resource options as its third argument, and every input of a resource is also an",
    "output of the same name. **On change** says what a change of the input does: `replaces` (the old",
    "object is deleted first) or `in place`.",
    "",
    `Resources: ${index(resources)}`,
    "",
    ...(components.length ? [`Components: ${index(components)}`, ""] : []),
    ...(objects.length ? [`Types: ${index(objects)}`, ""] : []),
    "## Resources",
    "",
    ...resources.flatMap(([token, r]) => section(schema, token, r)),
    ...(components.length ? ["## Components", "", ...components.flatMap(([token, r]) => section(schema, token, r))] : []),
    ...(objects.length ? ["## Types", "", ...objects.flatMap(([token, t]) => typeSection(schema, token, t))] : []),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}
