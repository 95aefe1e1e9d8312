import { suite } from "uvu";
import * as assert from "uvu/assert";
import { addressLabel, linkAlias, ownerOfAlias, ruleComment } from "../../provider/driver/marks";
import { derivedName, HOST_CRITICAL_LINKS, ifnameProblem, netnsNameProblem, shortHash } from "../../provider/lib/names";

// Name rules (docs/kernel-facts.md, "Namespace names", "Interface names", B1-B8) and the names and marks nslab
// generates (B18, B22): pure functions, checked against the recorded kernel behaviour and, for
// the generators, over many inputs.

const ifname = suite("ifnameProblem");

const goodIfnames = [
  "eth0",
  "abcdefghijklmno", // 15 bytes: the most the kernel takes (B1)
  "v0.1",
  "veth-a_b",
  "_x",
  "0abc",
  // ip keywords are valid names: nslab always writes `name X` / `dev X` (B5)
  ...["up", "down", "vf", "mtu", "help", "dev", "name", "type", "link", "address", "master", "netns", "alias", "group", "index", "txqueuelen"],
];

for (const name of goodIfnames) {
  ifname(`accepts ${JSON.stringify(name)}`, () => {
    assert.is(ifnameProblem(name), undefined);
  });
}

const badIfnames: [string, RegExp, string][] = [
  ["abcdefghijklmnop", /^it is 16 bytes long; the kernel allows at most 15 \(IFNAMSIZ\)$/, "B1 16 bytes"],
  ["üüüüüüüü", /^it is 16 bytes long/, "B1 8 characters, 16 bytes: the limit counts bytes"],
  ["üüüüüüü", /use 1-15 characters from A-Z a-z 0-9 _ \. -/, "B6 14 bytes the kernel accepts, but not ASCII"],
  ["a/b", /"\/", ":", "%", whitespace/, "B2 slash"],
  ["a b", /use 1-15 characters/, "B2 space"],
  ["a\tb", /use 1-15 characters/, "B2 tab"],
  ["", /use 1-15 characters/, "B2 empty"],
  ["a:b", /use 1-15 characters/, "B3 colon"],
  [".", /use 1-15 characters/, "B3 dot"],
  ["..", /use 1-15 characters/, "B3 dot dot"],
  ["all", /^"all" clashes with \/proc\/sys\/net\/\*\/conf\/all$/, "B3 all"],
  ["default", /^"default" clashes with \/proc\/sys\/net\/\*\/conf\/default$/, "B3 default"],
  ["a%d", /use 1-15 characters/, "B4 template, silently a0"],
  ["br%d", /use 1-15 characters/, "B4 template"],
  ["x%s", /use 1-15 characters/, "B4 percent"],
  ["%d%d", /use 1-15 characters/, "B4 percent"],
  ["a\x01b", /use 1-15 characters/, "B6 control character"],
  ['a"b', /use 1-15 characters/, "B6 quote"],
  ["a'b", /use 1-15 characters/, "B6 quote"],
  ["a*b", /use 1-15 characters/, "B6 star"],
  ["a;b", /use 1-15 characters/, "B6 semicolon"],
  ["a$b", /use 1-15 characters/, "B6 dollar"],
  ["-x", /not starting with "\." or "-"/, "B6 leading dash"],
  [".x", /not starting with "\." or "-"/, "leading dot"],
];

for (const [name, reason, source] of badIfnames) {
  ifname(`rejects ${JSON.stringify(name)} (${source})`, () => {
    assert.match(ifnameProblem(name) ?? "", reason);
  });
}

ifname("lists the host-critical links nslab never touches in the host namespace (B23)", () => {
  assert.equal([...HOST_CRITICAL_LINKS].sort(), ["cni0", "docker0", "eth0", "lo"]);
});

ifname.run();

const netns = suite("netnsNameProblem");

for (const name of ["red", "lab_1.x", ".hidden", "0", "x".repeat(255)]) {
  netns(`accepts ${JSON.stringify(name.length > 20 ? `${name.slice(0, 5)}…(${name.length})` : name)}`, () => {
    assert.is(netnsNameProblem(name), undefined);
  });
}

for (const [name, source] of [
  ["a/b", "B7 slash"],
  [".", "B7 dot"],
  ["..", "B7 dot dot"],
  ["", "B7 empty"],
  ["x".repeat(256), "B7 256 bytes"],
  ["with space", "B8 space, accepted by ip"],
  ["col:on", "B8 colon, accepted by ip"],
  ["-dash", "B8 leading dash, accepted by ip"],
  ["rød", "not ASCII"],
] as const) {
  netns(`rejects ${JSON.stringify(name.length > 20 ? `${name.slice(0, 5)}…(${name.length})` : name)} (${source})`, () => {
    assert.is(netnsNameProblem(name), 'use 1-255 characters from A-Z a-z 0-9 _ . - (not starting with "-", not "." or "..")');
  });
}

netns.run();

const hash = suite("shortHash");

hash("is lower-case hex of the requested length, and the same for the same parts", () => {
  const h = shortHash(["lab", "dev", "web"], 12);
  assert.match(h, /^[0-9a-f]{12}$/);
  assert.is(shortHash(["lab", "dev", "web"], 12), h);
  assert.is(shortHash(["lab", "dev", "web"], 4), h.slice(0, 4));
  assert.is(shortHash(["lab", "dev", "web"], 64).length, 64);
});

hash("differs when a part differs, and never confuses how the parts are split", () => {
  assert.is.not(shortHash(["lab", "dev", "web"], 12), shortHash(["lab", "prod", "web"], 12));
  assert.is.not(shortHash(["ab", "c"], 12), shortHash(["a", "bc"], 12));
  assert.is.not(shortHash(["a,b"], 12), shortHash(["a", "b"], 12));
});

hash.run();

const derived = suite("derivedName");

/** Resource names a program may use, including ones with no usable character at all. */
const resourceNames = ["web", "a", "web server", "ünïcödé", "-lead", "...", "", "x".repeat(80), "br.lan", "%d", "all", "a/b:c d", "日本語のネットワーク"];

derived("is deterministic, at most max bytes, and a valid interface name for max 15", () => {
  for (const name of resourceNames) {
    const d = derivedName(name, ["lab", "dev"], 15);
    assert.is(derivedName(name, ["lab", "dev"], 15), d, name);
    assert.ok(Buffer.byteLength(d) <= 15, `${JSON.stringify(d)} from ${JSON.stringify(name)}`);
    assert.is(ifnameProblem(d), undefined, `${JSON.stringify(d)} from ${JSON.stringify(name)}`);
  }
});

derived("is a valid namespace name for max 64 (Netns's default name)", () => {
  for (const name of resourceNames) {
    const d = derivedName(name, ["lab", "dev"], 64);
    assert.ok(Buffer.byteLength(d) <= 64, d);
    assert.is(netnsNameProblem(d), undefined, d);
  }
});

derived("keeps the resource name's safe characters before a 4-hex hash", () => {
  assert.match(derivedName("web", ["lab", "dev"], 15), /^web-[0-9a-f]{4}$/);
  assert.match(derivedName("web server", ["lab", "dev"], 15), /^web-server-[0-9a-f]{4}$/);
  assert.match(derivedName("x".repeat(80), ["lab", "dev"], 15), /^x{10}-[0-9a-f]{4}$/);
  assert.match(derivedName("-lead", ["lab", "dev"], 15), /^lead-[0-9a-f]{4}$/);
  assert.match(derivedName("...", ["lab", "dev"], 15), /^n[0-9a-f]{4}$/);
});

derived("differs per stack, project and parent path, so two stacks never collide", () => {
  const names = new Set(
    [
      ["lab", "dev"],
      ["lab", "prod"],
      ["other", "dev"],
      ["lab", "dev", "segment-a"],
      ["lab", "dev", "segment-b"],
    ].map((salt) => derivedName("web", salt, 15)),
  );
  assert.is(names.size, 5);
});

derived("gives distinct names to many resources of one stack (no collisions in 500)", () => {
  const names = new Set(Array.from({ length: 500 }, (_, i) => derivedName(`veth${i}`, ["lab", "dev"], 15)));
  assert.is(names.size, 500);
});

derived.run();

const marks = suite("marks");

const HASH = shortHash(["lab", "dev", "web"], 12);

marks("a link alias carries the owner hash and reads back; other aliases are not nslab's", () => {
  assert.is(linkAlias(HASH), `nslab:${HASH}`);
  assert.is(ownerOfAlias(linkAlias(HASH)), HASH);
  for (const other of [undefined, "", "uplink", `nslab:${HASH}x`, `nslab:${HASH.slice(1)}`, `pulumi:${HASH}`]) assert.is(ownerOfAlias(other), undefined, String(other));
});

marks("an address label is <device>:<hash prefix> within the kernel's 15 bytes, or none when the device leaves no room", () => {
  for (let len = 1; len <= 15; len++) {
    const device = "d".repeat(len);
    const label = addressLabel(device, HASH);
    if (len <= 12) {
      assert.ok(label !== undefined && Buffer.byteLength(label) <= 15, `${device}: ${label}`);
      assert.is(label, `${device}:${HASH.slice(0, Math.min(12, 14 - len))}`);
    } else {
      assert.is(label, undefined, device);
    }
  }
  assert.is(addressLabel("eth0", HASH), `eth0:${HASH.slice(0, 10)}`);
});

marks("a rule comment is printable ASCII without spaces or quotes and far below 255 bytes (B18)", () => {
  for (const tag of ["masq", "dnat", "fwd", "fw", "100", "accept"]) {
    const c = ruleComment(HASH, tag);
    assert.is(c, `nslab:${HASH}:${tag}`);
    assert.match(c, /^[\x21-\x7e]+$/);
    assert.not.match(c, /["'\\]/);
    assert.ok(Buffer.byteLength(c) < 255);
  }
});

marks.run();
