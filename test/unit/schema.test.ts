import * as fs from "node:fs";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { referencePage } from "../../scripts/reference";
import { generateSchema, packageInfo, REFERENCE_FILE, SCHEMA_FILE, SchemaError, schemaText, sdkSources, type PackageSchema, type TypeSpec } from "../../scripts/schema";

// schema.json and docs/reference.md are generated from sdk/ (`npm run schema`): the committed
// files must be what the generator makes now, and the generator must read the TSDoc, the types
// and the providers' diff lists as Pulumi's package schema expects.

const root = path.resolve(__dirname, "../..");
const sources = sdkSources();
const schema = generateSchema(sources, packageInfo());

const NETNS = "pulumi-nodejs:dynamic/nslab:Netns";
const VETH = "pulumi-nodejs:dynamic/nslab:VethPair";
const ROUTE = "pulumi-nodejs:dynamic/nslab:Route";
const ADDRESS = "pulumi-nodejs:dynamic/nslab:Address";
const PORT_FORWARD = "pulumi-nodejs:dynamic/nslab:PortForward";

/** Why `file` differs from what the generator makes now, or undefined. */
function staleness(file: string, generated: string): string | undefined {
  const committed = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  if (committed === generated) return undefined;
  const [was, is] = [committed.split("\n"), generated.split("\n")];
  const line = is.findIndex((l, i) => l !== was[i]);
  return `${path.relative(root, file)} is stale from line ${line + 1} (now: ${JSON.stringify(is[line])}): run \`npm run schema\``;
}

const enumValues = (s: PackageSchema, t: TypeSpec) => {
  const token = decodeURIComponent((t as { $ref: string }).$ref.replace("#/types/", ""));
  const type = s.types[token];
  return type && "enum" in type ? type.enum.map((e) => e.value) : undefined;
};

const test = suite("schema");

test("the committed schema.json is what `npm run schema` generates from sdk/", () => {
  const why = staleness(SCHEMA_FILE, schemaText(schema));
  assert.is(why, undefined, why);
});

test("the committed docs/reference.md is what `npm run schema` generates from schema.json", () => {
  const why = staleness(REFERENCE_FILE, referencePage(schema));
  assert.is(why, undefined, why);
});

test("takes defaults from @default: a literal as the default, prose into the description", () => {
  const netns = schema.resources[NETNS]!.inputProperties;
  assert.is(netns.loopback!.default, true);
  assert.is(netns.name!.default, undefined);
  assert.match(netns.name!.description, /\n\nDefault: the resource name plus a short hash of the project and stack$/);
});

test("marks inputs the provider's diff replaces on (and only those) as replaceOnChanges", () => {
  const netns = schema.resources[NETNS]!;
  assert.is(netns.inputProperties.name!.replaceOnChanges, true);
  assert.is(netns.properties.name!.replaceOnChanges, true);
  assert.is(netns.inputProperties.loopback!.replaceOnChanges, undefined);
  const veth = schema.resources[VETH]!.inputProperties;
  assert.equal(
    Object.keys(veth).filter((k) => veth[k]!.replaceOnChanges),
    ["name", "peerName", "netns", "peerNetns", "host"],
  );
});

test("makes a string-literal union a Pulumi enum type, and a union of distinct types a oneOf", () => {
  const protocol = schema.resources[PORT_FORWARD]!.inputProperties.protocol!;
  assert.equal(enumValues(schema, protocol), ["tcp", "udp"]);
  assert.is(protocol.default, "tcp");
  const table = schema.resources[ROUTE]!.inputProperties.table as { oneOf: TypeSpec[] };
  assert.equal(table.oneOf[0], { type: "number" });
  assert.equal(enumValues(schema, table.oneOf[1]!), ["main"]);
});

test("lists required inputs, and leaves the hidden identity inputs and owner out", () => {
  assert.equal(schema.resources[VETH]!.requiredInputs, ["peerName"]);
  const address = schema.resources[ADDRESS]!;
  assert.equal(Object.keys(address.inputProperties), ["device", "address", "netns", "adopt", "host"]);
  assert.equal(Object.keys(address.properties), ["device", "address", "netns", "adopt", "host", "label"]);
  assert.equal(address.required, ["device", "address"]);
});

test("types a reference that takes a resource or a name as a string", () => {
  const { device, netns } = schema.resources[ADDRESS]!.inputProperties;
  assert.is((device as { type: string }).type, "string");
  assert.is((netns as { type: string }).type, "string");
});

test("rejects an undocumented public property, naming the class, the property and file:line", () => {
  const file = sources.project.createSourceFile(
    path.join(root, "test/unit/widget.fixture.ts"),
    [
      `import * as pulumi from "@pulumi/pulumi";`,
      `/** A widget. */`,
      `export interface WidgetArgs {`,
      `  /** Its size. */`,
      `  readonly size: pulumi.Input<number>;`,
      `  readonly colour?: pulumi.Input<string>;`,
      `}`,
      `export class Widget extends pulumi.dynamic.Resource {`,
      `  declare readonly weight: pulumi.Output<number>;`,
      `  constructor(name: string, args: WidgetArgs) {`,
      `    super({} as pulumi.dynamic.ResourceProvider, name, args, undefined, "nslab", "Widget");`,
      `  }`,
      `}`,
    ].join("\n"),
  );
  try {
    const err = (() => {
      try {
        generateSchema({ ...sources, files: [file], diffOf: () => ({ replace: [], update: [] }) }, packageInfo());
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.instance(err, SchemaError);
    const hint = "has no TSDoc: document it (every public property and class goes into schema.json and docs/reference.md)";
    assert.equal((err as SchemaError).problems, [`test/unit/widget.fixture.ts:6: Widget.colour ${hint}`, `test/unit/widget.fixture.ts:9: Widget.weight ${hint}`]);
  } finally {
    sources.project.removeSourceFile(file);
  }
});

test.run();
