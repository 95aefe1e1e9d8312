import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { argv, nslab, ROOT, type Config, type Json } from "../helpers/example";
import { kernelSnapshot } from "../helpers/snapshot";

// Conflicts between the resources of one program (fixtures/conflicts), end to end through the
// built CLI: each is found by the preview `up` starts with, names both resources, and nothing is
// created. And a conflict found only at create (a resource renamed without an alias) never
// advises deleting what belongs to the stack.

const test = suite("conflicts inside one program");
const FIXTURE = path.join(__dirname, "fixtures/conflicts");
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-conflicts-"));
const pristine = kernelSnapshot();
test.after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

/** `nslab up`, which must fail; its error diagnostics. */
function failingUp(config: Config): string {
  const r = spawnSync(process.execPath, argv("up", FIXTURE, stateDir, config), { cwd: ROOT, encoding: "utf8" });
  assert.is(r.status, 1, `nslab up exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  const j = JSON.parse(r.stdout) as Json;
  return j.diagnostics.filter((d) => d.severity === "error").map((d) => d.message).join("\n");
}

// The engine prints `<type> resource '<name>': property <property> has a problem: <reason>`; a
// reason names the other resource. Where either of two may be checked second, the two captures
// are the two resources.
const cases: [string, RegExp][] = [
  ["name", /Netns resource '(green|yellow)': property name has a problem: "dup" is not valid: Netns "(green|yellow)" also makes namespace "dup"/],
  ["address", /Address resource '(red-ip|red-ip-again)': property address has a problem: "10\.0\.0\.1\/24" is not valid: Address "(red-ip|red-ip-again)" also adds 10\.0\.0\.1\/24 to "veth-red"/],
  ["forward", /PortForward resource '(web|web-too)': property hostPort has a problem: 8080 is not valid: PortForward "(web|web-too)" also forwards tcp port 8080/],
  ["master", /VethPair resource 'port': property master has a problem: "br-blue" is not valid: Bridge "br" makes "br-blue" in namespace "blue-\w+", but this resource is in namespace "red-\w+"/],
  ["device", /Address resource 'blue-ip': property device has a problem: "veth-red" is not valid: VethPair "red-blue" makes "veth-red" in namespace "red-\w+", but this resource is in namespace "blue-\w+"/],
  ["netns", /Sysctl resource 'forwarding': property netns has a problem: "nowhere" is not valid: no Netns checked before this resource makes namespace "nowhere", and it does not exist/],
  ["gateway", /Route resource 'red-default': property via has a problem: "10\.9\.9\.9" is not valid: no Address declared before this route covers gateway 10\.9\.9\.9 on "veth-red"/],
];

for (const [conflict, message] of cases) {
  test(`${conflict}: the preview fails naming both resources, and nothing is created`, () => {
    const text = failingUp({ conflict });
    const found = text.match(message);
    assert.ok(found, text);
    if (found.length > 2) assert.is.not(found[1], found[2], "the two resources");
    assert.fixture(kernelSnapshot(), pristine);
  });
}

test("a renamed address found at create: the message never advises deleting it by hand", () => {
  nslab("up", FIXTURE, stateDir);
  const message = failingUp({ rename: "red-ip-renamed" });
  assert.match(message, /10\.0\.0\.1\/24 already exists on "veth-red" in namespace "red-\w+" \(label "veth-red:[0-9a-f]+"\), made by nslab for another resource/);
  assert.match(message, /add aliases: \[\{ name: "<its old name>" \}\] to the renamed one/);
  assert.not.match(message, /addr del/);
  nslab("destroy", FIXTURE, stateDir);
  assert.fixture(kernelSnapshot(), pristine);
});

test.run();
