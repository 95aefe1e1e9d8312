import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CLI, Example, graph, ROOT, type Json } from "../helpers/example";
import { kernelSnapshot } from "../helpers/snapshot";

// `nslab graph` and `nslab preview --format markdown` through the built CLI, on the kernel of this
// file's sandbox: a preview of two-namespaces with one more host marks exactly that host as added;
// the markdown preview of a change gives its counts and changed properties. (That every example's
// graph holds what the kernel has is checked by each example's test: expectLifecycle.)

const test = suite("nslab graph on the kernel");

/** Runs the CLI on an example copy (its own state); its exit status and output. */
function cli(ex: Example, ...args: string[]) {
  const [command, ...rest] = args;
  return spawnSync(process.execPath, [CLI, command!, ex.dir, "--state-dir", ex.stateDir, "--skip-typecheck", ...rest], { cwd: ROOT, encoding: "utf8" });
}

/**
 * Runs `fn` on a copy of examples/<name> brought up; destroys it after, even when `fn` fails.
 * The up skips its preview (each run of a program costs seconds; the examples' own tests run
 * the full up).
 */
function withExample(name: string, fn: (ex: Example, outputs: Record<string, string>) => void): void {
  const ex = new Example(name);
  const up = cli(ex, "up", "--skip-preview", "--json");
  assert.is(up.status, 0, `nslab up exited ${up.status}:\n${up.stdout}\n${up.stderr}`);
  const outputs = (JSON.parse(up.stdout) as Json).outputs as Record<string, string>;
  try {
    fn(ex, outputs);
  } finally {
    ex.run("destroy");
  }
  assert.fixture(kernelSnapshot(), ex.pristine, `${name}: destroy leaves the kernel as it was`);
}

test("graph --preview of two-namespaces with one more host marks exactly that host as added; the markdown preview of a change lists its properties", () => {
  withExample("two-namespaces", (ex) => {
    ex.append(`
const green = new nslab.Netns("green");
const greenLink = new nslab.VethPair("red-green", { name: "veth-rg", netns: red, peerName: "veth-green", peerNetns: green });
new nslab.Address("green-ip", { device: greenLink.peer, address: "10.0.1.2/24" });
`);
    // Namespaces by their resource names (nslab derived their kernel names from them), links by their pairs'.
    const planned = graph(ex, "--preview");
    assert.fixture(
      planned,
      `flowchart LR
  subgraph ns0["netns blue"]
    d0(["veth-blue<br/>10.0.0.2/24"])
  end
  subgraph ns1["+ netns green"]
    d1(["+ veth-green<br/>+ 10.0.1.2/24"])
  end
  subgraph ns2["netns red"]
    d2(["veth-red<br/>10.0.0.1/24"])
    d3(["+ veth-rg"])
  end
  d2 ---|"red-blue"| d0
  d3 ---|"+ red-green"| d1
  classDef added fill:#dafbe1,stroke:#1a7f37,color:#1a7f37
  class ns1,d1,d3 added
  linkStyle 1 stroke:#1a7f37,stroke-width:2px
`,
    );
    // The state is what up made: graph without --preview is the lab before the change.
    assert.not.ok(graph(ex).includes("green"));
    const dot = graph(ex, "--format", "dot");
    assert.ok(dot.startsWith("digraph lab {\n") && dot.includes(`    label="netns red";\n`) && !dot.includes("green"), dot);

    // A second change, to a property: blue's address moves (a replace).
    const index = path.join(ex.dir, "index.ts");
    fs.writeFileSync(index, fs.readFileSync(index, "utf8").replace('address: "10.0.0.2/24"', 'address: "10.0.0.3/24"'));
    const r = cli(ex, "preview", "--diff", "--format", "markdown");
    assert.is(r.status, 0, r.stderr);
    assert.fixture(
      r.stdout,
      `### nslab preview of stack \`dev\`

| create | update | replace | delete | same |
|---:|---:|---:|---:|---:|
| 3 | 0 | 1 | 0 | 4 |

- \`+\` **create** \`green\` (Netns)
- \`+\` **create** \`green-ip\` (Address)
- \`+\` **create** \`red-green\` (VethPair)
- \`+-\` **replace** \`blue-ip\` (Address)
  - \`address\`: \`"10.0.0.2/24"\` → \`"10.0.0.3/24"\`
`,
    );
    assert.ok(r.stderr.startsWith("Previewing update (dev):\n"), r.stderr);
  });
});

test("fails with a usage error for --format on other commands or with other values, and without state", () => {
  const ex = new Example("two-namespaces");
  for (const args of [
    ["up", "--format", "markdown"],
    ["preview", "--format", "dot"],
    ["preview", "--format", "markdown", "--json"],
    ["graph", "--format", "markdown"],
    ["graph", "--json"],
    ["destroy", "--preview"],
  ]) {
    const r = cli(ex, ...args);
    assert.is(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(/^nslab: (--format|--preview|--json) /.test(r.stderr), r.stderr);
  }
  const none = cli(ex, "graph");
  assert.is(none.status, 1);
  assert.is(none.stderr, `nslab: stack dev has no state (${path.join(ex.stateDir, "dev.json")}): nothing is deployed; nslab graph --preview draws what up would make\n`);
});

test.run();
