import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Result } from "../../engine/deploy";
import { previewMarkdown } from "../../engine/markdown";
import type { Step } from "../../engine/steps";
import { UNKNOWN } from "../../engine/values";

// `nslab preview --format markdown`: the counts, then each changed resource with its changed
// properties (old → new with --diff), for a pull-request comment.

const test = suite("preview as markdown");

const step = (op: Step["op"], kind: string, name: string, more: Partial<Step> = {}): Step => ({
  op,
  urn: `urn:pulumi:dev::lab::pulumi-nodejs:dynamic/nslab:${kind}::${name}`,
  type: `pulumi-nodejs:dynamic/nslab:${kind}`,
  diffs: [],
  ...more,
});

const STEPS: Step[] = [
  { op: "same", urn: "urn:pulumi:dev::lab::pulumi:pulumi:Stack::lab-dev", type: "pulumi:pulumi:Stack", diffs: [] },
  { op: "same", urn: "urn:pulumi:dev::lab::pulumi:providers:pulumi-nodejs::default", type: "pulumi:providers:pulumi-nodejs", diffs: [] },
  step("same", "Netns", "red"),
  step("update", "VethPair", "red-blue", { diffs: ["mtu"], olds: {}, news: { mtu: 9000 } }),
  step("create", "VethPair", "red-green"),
  step("create", "Netns", "green"),
  step("replace", "Address", "blue-ip", { diffs: ["address"], olds: { address: "10.0.0.2/24" }, news: { address: UNKNOWN } }),
  step("delete", "PortForward", "web"),
];

const result = (more: Partial<Result> = {}): Result => ({
  operation: "preview",
  stack: "dev",
  steps: STEPS,
  changeSummary: { same: 1, create: 2, update: 1, replace: 1, delete: 1 },
  diagnostics: [],
  failed: false,
  ...more,
});

test("gives the counts, then each changed resource by op and name with its changed properties old → new", () => {
  assert.fixture(
    previewMarkdown(result(), true),
    `### nslab preview of stack \`dev\`

| create | update | replace | delete | same |
|---:|---:|---:|---:|---:|
| 2 | 1 | 1 | 1 | 1 |

- \`+\` **create** \`green\` (Netns)
- \`+\` **create** \`red-green\` (VethPair)
- \`+-\` **replace** \`blue-ip\` (Address)
  - \`address\`: \`"10.0.0.2/24"\` → \`"[unknown]"\`
- \`~\` **update** \`red-blue\` (VethPair)
  - \`mtu\`: \`(none)\` → \`9000\`
- \`-\` **delete** \`web\` (PortForward)
`,
  );
});

test("without --diff names the changed properties only", () => {
  const md = previewMarkdown(result(), false);
  assert.ok(md.includes("- `+-` **replace** `blue-ip` (Address): `address`\n- `~` **update** `red-blue` (VethPair): `mtu`\n"), md);
  assert.not.ok(md.includes("→"), md);
});

test("says so when nothing changes", () => {
  const md = previewMarkdown(result({ steps: STEPS.slice(0, 3), changeSummary: { same: 1, create: 0, update: 0, replace: 0, delete: 0 } }), true);
  assert.ok(md.endsWith("| 0 | 0 | 0 | 0 | 1 |\n\nNo changes.\n"), md);
});

test("fails visibly: the heading says failed and the errors (not the warnings) follow in a code block", () => {
  const md = previewMarkdown(
    result({
      steps: [],
      changeSummary: { same: 0, create: 0, update: 0, replace: 0, delete: 0 },
      failed: true,
      diagnostics: [
        { severity: "warning", message: "Could not find a package.json" },
        { severity: "error", message: "VethPair resource 'v': property name has a problem: too long", urn: "urn:pulumi:dev::lab::pulumi-nodejs:dynamic/nslab:VethPair::v" },
      ],
    }),
    true,
  );
  assert.fixture(
    md,
    `### nslab preview of stack \`dev\`: failed

| create | update | replace | delete | same |
|---:|---:|---:|---:|---:|
| 0 | 0 | 0 | 0 | 0 |

Problems:

\`\`\`
  error: VethPair resource 'v': property name has a problem: too long
\`\`\`
`,
  );
});

test("cuts long values and quotes backticks safely", () => {
  const long = "x".repeat(500);
  const md = previewMarkdown(result({ steps: [step("update", "Sysctl", "s", { diffs: ["value", "key"], olds: { value: long, key: "a`b" }, news: { value: "1", key: "c" } })] }), true);
  assert.ok(md.includes(`  - \`value\`: \`"${"x".repeat(118)}…\` → \`"1"\`\n`), md);
  assert.ok(md.includes('  - `key`: `` "a`b" `` → `"c"`\n'), md);
});

test.run();
