import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  chainContent,
  chainEdits,
  chainLines,
  chainName,
  CHAIN_NAME,
  commentOf,
  conflictsIn,
  decodeName,
  encodeName,
  ESTABLISHED_RULE,
  firewallRules,
  firewallTag,
  hostAddressProblem,
  ipv4NetworkProblem,
  ipv4Problem,
  jumpRule,
  matchesOf,
  natRules,
  ownerComment,
  parseComment,
  parseListing,
  portForwardRules,
  portOrRangeProblem,
  portProblem,
  restoreText,
  rulesIntact,
  type Builtin,
  type ChainRead,
} from "../../provider/driver/chains";
import { iptablesArgv, parseConntrack, restoreArgv } from "../../provider/driver/iptables";

const H = "0123456789ab";
const H2 = "ba9876543210";
const C = `nslab:${H}:nat`;

const names = suite("iptables: generated names and comments");

names("chain names are NSLAB-<built-in>, valid iptables chain names of at most 28 characters (B19)", () => {
  const builtins: Builtin[] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];
  assert.equal(builtins.map(chainName), ["NSLAB-PREROUTING", "NSLAB-INPUT", "NSLAB-FORWARD", "NSLAB-OUTPUT", "NSLAB-POSTROUTING"]);
  for (const b of builtins) {
    const name = chainName(b);
    assert.ok(name.length <= 28, name);
    assert.match(name, CHAIN_NAME);
    assert.not.match(name, /^-|\s|^(ACCEPT|DROP|REJECT|RETURN|QUEUE)$/);
  }
  assert.not.match("NSLAB-" + "X".repeat(23), CHAIN_NAME, "29 characters are refused");
});

names("comments are printable ASCII without quotes, backslashes or spaces, under 255 bytes, for any name (B18)", () => {
  const nasty = ["web", "a b", 'q"u\'o\\te', "line\nbreak", "ünïcødé-名前", "x".repeat(1000), "%41", "", "-lead"];
  for (const name of nasty) {
    const text = ownerComment(H, firewallTag(65535, name));
    assert.match(text, /^[\x21-\x7e]+$/, JSON.stringify(name));
    assert.not.match(text, /["'\\]/);
    assert.ok(Buffer.byteLength(text) <= 255, `${text.length} bytes`);
    assert.ok(text.startsWith(`nslab:${H}:fw:65535:`));
  }
  assert.is(ownerComment(H, "nat"), "nslab:0123456789ab:nat");
  assert.is(firewallTag(100, "web server"), "fw:100:web%20server");
  assert.throws(() => ownerComment(H, "bad tag"), /unsafe iptables comment/);
});

names("encoded names decode to the original bytes, and long names are cut without splitting an escape", () => {
  for (const name of ["web", "a b", "ünïcødé", 'q"\\', "%41"]) assert.equal(decodeName(encodeName(name)), Buffer.from(name));
  const long = encodeName("é".repeat(40));
  assert.is(long.length, 60, "10 whole é (%C3%A9) fit in 64, never half of one");
  assert.match(long, /^(%C3%A9)+$/);
  assert.is(encodeName("a".repeat(100)).length, 64);
});

names("comments are parsed back from -S output, quoted or not", () => {
  assert.equal(parseComment(commentOf(`-s 10.0.0.0/24 -m comment --comment "${C}" -j MASQUERADE`)), { hash: H, tag: "nat" });
  assert.is(commentOf(`-m comment --comment "say \\"hi\\"" -j ACCEPT`), 'say "hi"');
  assert.is(commentOf(`-m comment --comment bare -j ACCEPT`), "bare");
  assert.is(commentOf(`-s 10.0.0.1/32 -j ACCEPT`), undefined);
  assert.is(parseComment("nslab:jump"), undefined, "the jump belongs to no owner");
  assert.is(parseComment("nslab:xyz:nat"), undefined);
  assert.is(matchesOf(`-s 10.0.0.0/24 -o eth0 -m comment --comment "${C}" -j MASQUERADE`), "-s 10.0.0.0/24 -o eth0");
  assert.is(matchesOf(`-j MASQUERADE`), "");
});

const text = suite("iptables: rule text, exactly as iptables -S prints it");

text("NatRule: MASQUERADE with an output interface, and the matching FORWARD accept", () => {
  assert.equal(natRules({ source: "10.0.0.0/24", outInterface: "eth0" }, C), [
    { table: "nat", builtin: "POSTROUTING", body: `-s 10.0.0.0/24 -o eth0 -m comment --comment "${C}" -j MASQUERADE`, exclusive: true },
    { table: "filter", builtin: "FORWARD", body: `-s 10.0.0.0/24 -o eth0 -m comment --comment "${C}" -j ACCEPT` },
  ]);
});

text("NatRule: SNAT excluding an interface; 0.0.0.0/0 is no -s match at all (iptables prints none)", () => {
  assert.equal(
    natRules({ source: "10.1.0.0/16", notOutInterface: "br0", toSource: "192.0.2.1" }, C).map((r) => r.body),
    [`-s 10.1.0.0/16 ! -o br0 -m comment --comment "${C}" -j SNAT --to-source 192.0.2.1`, `-s 10.1.0.0/16 ! -o br0 -m comment --comment "${C}" -j ACCEPT`],
  );
  assert.equal(natRules({ source: "0.0.0.0/0", outInterface: "up0" }, C)[0]!.body, `-o up0 -m comment --comment "${C}" -j MASQUERADE`);
});

text("PortForward: local addresses only in PREROUTING and OUTPUT (never loopback in OUTPUT), DNATed traffic accepted in FORWARD", () => {
  const c = `nslab:${H}:pf`;
  assert.equal(portForwardRules({ protocol: "tcp", hostPort: 8080, toAddress: "10.0.0.2", toPort: 80 }, c), [
    { table: "nat", builtin: "PREROUTING", body: `-p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8080 -m comment --comment "${c}" -j DNAT --to-destination 10.0.0.2:80`, exclusive: true },
    { table: "nat", builtin: "OUTPUT", body: `! -d 127.0.0.0/8 -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8080 -m comment --comment "${c}" -j DNAT --to-destination 10.0.0.2:80`, exclusive: true },
    { table: "filter", builtin: "FORWARD", body: `-d 10.0.0.2/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment "${c}" -j ACCEPT` },
  ]);
});

text("PortForward: a host address replaces the local-address match; an input interface means no OUTPUT rule", () => {
  const c = `nslab:${H}:pf`;
  assert.equal(
    portForwardRules({ protocol: "udp", hostPort: 53, toAddress: "10.0.0.3", toPort: 5353, hostAddress: "192.0.2.1" }, c).map((r) => `${r.builtin} ${r.body}`),
    [
      `PREROUTING -d 192.0.2.1/32 -p udp -m udp --dport 53 -m comment --comment "${c}" -j DNAT --to-destination 10.0.0.3:5353`,
      `OUTPUT -d 192.0.2.1/32 -p udp -m udp --dport 53 -m comment --comment "${c}" -j DNAT --to-destination 10.0.0.3:5353`,
      `FORWARD -d 10.0.0.3/32 -p udp -m udp --dport 5353 -m conntrack --ctstate DNAT -m comment --comment "${c}" -j ACCEPT`,
    ],
  );
  assert.equal(
    portForwardRules({ protocol: "tcp", hostPort: 2222, toAddress: "10.0.0.3", toPort: 22, inInterface: "eth0" }, c).map((r) => `${r.builtin} ${r.body}`),
    [
      `PREROUTING -i eth0 -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 2222 -m comment --comment "${c}" -j DNAT --to-destination 10.0.0.3:22`,
      `FORWARD -d 10.0.0.3/32 -i eth0 -p tcp -m tcp --dport 22 -m conntrack --ctstate DNAT -m comment --comment "${c}" -j ACCEPT`,
    ],
  );
});

text("FirewallRule: every match in iptables' order; reject names its ICMP type; ports and ranges as iptables prints them", () => {
  const c = `nslab:${H}:fw:10:web`;
  assert.equal(
    firewallRules({ action: "reject", chain: "forward", source: "10.0.0.0/24", destination: "10.2.0.5", inInterface: "a", outInterface: "b", protocol: "tcp", destinationPort: "1000:2000" }, c),
    [{ table: "filter", builtin: "FORWARD", body: `-s 10.0.0.0/24 -d 10.2.0.5/32 -i a -o b -p tcp -m tcp --dport 1000:2000 -m comment --comment "${c}" -j REJECT --reject-with icmp-port-unreachable` }],
  );
  assert.is(firewallRules({ action: "accept", chain: "input", protocol: "udp", destinationPort: "53:53" }, c)[0]!.body, `-p udp -m udp --dport 53 -m comment --comment "${c}" -j ACCEPT`);
  assert.equal(firewallRules({ action: "drop", chain: "output", protocol: "all" }, c), [{ table: "filter", builtin: "OUTPUT", body: `-m comment --comment "${c}" -j DROP` }]);
  assert.is(firewallRules({ action: "drop", chain: "forward", protocol: "icmp" }, c)[0]!.body, `-p icmp -m comment --comment "${c}" -j DROP`);
  assert.is(
    firewallRules({ action: "drop", chain: "forward", inInterface: "wan", protocol: "tcp", destinationPort: 22, state: ["established", "new", "invalid"] }, c)[0]!.body,
    `-i wan -p tcp -m tcp --dport 22 -m conntrack --ctstate INVALID,NEW,ESTABLISHED -m comment --comment "${c}" -j DROP`,
    "states in the order iptables prints them",
  );
});

const chains = suite("iptables: chain content and restore batches");

const fw = (hash: string, prio: number, name: string, target = "ACCEPT") => `-m comment --comment "nslab:${hash}:fw:${prio}:${encodeName(name)}" -j ${target}`;
const FWD = { table: "filter", builtin: "FORWARD" } as const;
const POST = { table: "nat", builtin: "POSTROUTING" } as const;

chains("parses the rules of one chain from -S output, and from iptables-save output of its table", () => {
  const listing = `-N NSLAB-FORWARD\n-A NSLAB-FORWARD ${ESTABLISHED_RULE}\n-A NSLAB-FORWARDX -j ACCEPT\n-A NSLAB-FORWARD ${fw(H, 1, "a")}\n`;
  assert.equal(parseListing("NSLAB-FORWARD", listing), [ESTABLISHED_RULE, fw(H, 1, "a")]);
  const saved = [
    "# Generated by iptables-save v1.8.9 (nf_tables)",
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD DROP [0:0]",
    ":NSLAB-FORWARD - [0:0]",
    "-A FORWARD -j NSLAB-FORWARD",
    `-A NSLAB-FORWARD ${ESTABLISHED_RULE}`,
    "-A NSLAB-FORWARDX -j ACCEPT",
    `-A NSLAB-FORWARD ${fw(H, 1, "a")}`,
    "COMMIT",
  ].join("\n");
  assert.equal(parseListing("NSLAB-FORWARD", saved), [ESTABLISHED_RULE, fw(H, 1, "a")]);
  assert.equal(parseListing("FORWARD", saved), ["-j NSLAB-FORWARD"]);
});

chains("orders FirewallRules by priority, then name, then owner, whatever the order they come in; established first, PortForward accepts after the rules of priority 100, NatRule accepts last", () => {
  const a = fw(H2, 20, "drop-rest", "DROP");
  const b = fw(H, 10, "web");
  const c = fw(H2, 10, "api");
  const nat = `-s 10.0.0.0/24 -m comment --comment "nslab:${H2}:nat" -j ACCEPT`;
  const pf = `-d 10.0.0.2/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment "nslab:${H2}:pf" -j ACCEPT`;
  const rest = fw(H2, 100, "drop-rest", "DROP");
  for (const others of [[a, c, nat, rest, pf], [nat, pf, rest, c, a], [c, rest, nat, a, pf]]) {
    assert.equal(chainContent(FWD, [ESTABLISHED_RULE, ...others], H, [b]), [ESTABLISHED_RULE, c, b, a, rest, pf, nat], others.join(" | "));
  }
  assert.equal(chainContent(FWD, [fw(H2, 100, "z")], H, [fw(H, 100, "é")]), [ESTABLISHED_RULE, fw(H2, 100, "z"), fw(H, 100, "é")], "names compare as UTF-8 bytes");
  assert.equal(chainContent(FWD, undefined, H, [fw(H, 100, "b")]).length, 2);
  assert.equal(chainContent(FWD, [fw(H2, 9, "x")], H, [fw(H, 9, "x")]), [ESTABLISHED_RULE, fw(H, 9, "x"), fw(H2, 9, "x")], "equal name: owner hash decides");
});

chains("replaces the owner's rules, keeps other owners', drops rules without an nslab comment (D8) and taken-over owners'", () => {
  const mine = `-s 10.0.0.0/24 -m comment --comment "${C}" -j MASQUERADE`;
  const old = `-s 10.9.0.0/24 -m comment --comment "${C}" -j MASQUERADE`;
  const other = `-s 10.1.0.0/24 -m comment --comment "nslab:${H2}:nat" -j MASQUERADE`;
  const foreign = `-s 10.2.0.0/24 -j MASQUERADE`;
  assert.equal(chainContent(POST, [old, other, foreign], H, [mine]), [mine, other], "equal keys: ordered by owner hash");
  assert.equal(chainContent(POST, [old, other], H, [mine], new Set([H2])), [mine]);
  assert.equal(chainContent(POST, [old], H, []), [], "no owned rule left: empty (nat chains have no implicit rule)");
  assert.equal(chainContent(FWD, [ESTABLISHED_RULE, fw(H, 1, "a")], H, []), [], "only the implicit rule left: empty");
});

chains("a first rule creates the chain and its jump in one batch", () => {
  const read: ChainRead = { ...POST, rules: undefined, jumps: 0 };
  const body = `-s 10.0.0.0/24 -m comment --comment "${C}" -j MASQUERADE`;
  assert.is(
    restoreText(new Map([["nat", chainLines(read, [body])]])),
    `*nat\n:NSLAB-POSTROUTING - [0:0]\n-A NSLAB-POSTROUTING ${body}\n-I POSTROUTING 1 -m comment --comment "nslab:jump" -j NSLAB-POSTROUTING\nCOMMIT\n`,
  );
});

chains("an unchanged chain with one jump needs no batch; a lost jump is re-inserted, extra copies removed", () => {
  const body = `-s 10.0.0.0/24 -m comment --comment "${C}" -j MASQUERADE`;
  assert.equal(chainLines({ ...POST, rules: [body], jumps: 1 }, [body]), []);
  assert.is(restoreText(new Map([["nat", []], ["filter", []]])), undefined);
  assert.equal(chainLines({ ...POST, rules: [body], jumps: 0 }, [body]), [`-I POSTROUTING 1 ${jumpRule("POSTROUTING")}`]);
  assert.equal(chainLines({ ...POST, rules: [body], jumps: 3 }, [body]), [`-D POSTROUTING ${jumpRule("POSTROUTING")}`, `-D POSTROUTING ${jumpRule("POSTROUTING")}`]);
});

chains("a chain that keeps its rules' order is edited in place: deletes by position from the end, then inserts", () => {
  const [a, b, c, d, e] = ["-j A", "-j B", "-j C", "-j D", "-j E"];
  assert.equal(chainEdits("X", [a, b], [a, b, c]), ["-I X 3 -j C"], "append");
  assert.equal(chainEdits("X", [a, c], [a, b, c, d]), ["-I X 2 -j B", "-I X 4 -j D"], "inserts at their final positions");
  assert.equal(chainEdits("X", [a, b, c, d], [b, d]), ["-D X 3", "-D X 1"], "deletes from the end, so positions hold");
  assert.equal(chainEdits("X", [a, b, c], [b, d, c, e]), ["-D X 1", "-I X 2 -j D", "-I X 4 -j E"]);
  assert.is(chainEdits("X", [a, b], [b, a]), undefined, "kept rules reordered: rewrite");
  assert.is(chainEdits("X", [a, a, b], [a, b]), undefined, "a body twice: rewrite");
  const body = `-s 10.0.0.0/24 -m comment --comment "${C}" -j MASQUERADE`;
  assert.equal(chainLines({ ...POST, rules: [body], jumps: 1 }, [body, b]), ["-I NSLAB-POSTROUTING 2 -j B"]);
  assert.equal(chainLines({ ...POST, rules: [a, body], jumps: 1 }, [body, a]), [":NSLAB-POSTROUTING - [0:0]", `-A NSLAB-POSTROUTING ${body}`, "-A NSLAB-POSTROUTING -j A"]);
});

chains("an emptied chain is removed with its jump, jump first, in one batch (docs/kernel-facts.md, 'iptables-restore --noflush', item 6)", () => {
  const body = `-s 10.0.0.0/24 -m comment --comment "${C}" -j MASQUERADE`;
  const nat = chainLines({ ...POST, rules: [body], jumps: 1 }, []);
  const filter = chainLines({ ...FWD, rules: [ESTABLISHED_RULE, body], jumps: 1 }, []);
  assert.is(
    restoreText(new Map([["nat", nat], ["filter", filter]])),
    `*nat\n-D POSTROUTING -m comment --comment "nslab:jump" -j NSLAB-POSTROUTING\n:NSLAB-POSTROUTING - [0:0]\n-X NSLAB-POSTROUTING\nCOMMIT\n` +
      `*filter\n-D FORWARD -m comment --comment "nslab:jump" -j NSLAB-FORWARD\n:NSLAB-FORWARD - [0:0]\n-X NSLAB-FORWARD\nCOMMIT\n`,
  );
  assert.equal(chainLines({ ...POST, rules: undefined, jumps: 0 }, []), [], "already gone: nothing to do");
  assert.equal(chainLines({ ...POST, rules: undefined, jumps: 1 }, []), [`-D POSTROUTING ${jumpRule("POSTROUTING")}`], "a dangling jump goes");
});

chains("another owner's rule with the same matches as an exclusive rule of ours is a conflict", () => {
  const [post] = natRules({ source: "10.0.0.0/24" }, C);
  const theirs = `-s 10.0.0.0/24 -m comment --comment "nslab:${H2}:nat" -j SNAT --to-source 192.0.2.1`;
  const read: ChainRead = { ...POST, rules: [theirs, `-s 10.0.0.0/24 -j MASQUERADE`], jumps: 1 };
  assert.equal(conflictsIn(read, H, [post!]), [{ body: theirs, hash: H2 }]);
  assert.equal(conflictsIn({ ...read, rules: [`-s 10.0.0.0/24 -m comment --comment "${C}" -j MASQUERADE`] }, H, [post!]), [], "our own rule is no conflict");
  assert.equal(conflictsIn({ ...FWD, rules: [theirs], jumps: 1 }, H, natRules({ source: "10.0.0.0/24" }, C)), [], "FORWARD accepts are not exclusive");
});

chains("reads find the owner's rules intact only with the same rules, the chain present and jumped to (D7)", () => {
  const rules = natRules({ source: "10.0.0.0/24" }, C);
  const intact: ChainRead[] = [
    { ...POST, rules: [rules[0]!.body], jumps: 1 },
    { ...FWD, rules: [ESTABLISHED_RULE, rules[1]!.body], jumps: 1 },
  ];
  assert.ok(rulesIntact(intact, H, rules));
  assert.not.ok(rulesIntact([{ ...intact[0]!, rules: [] }, intact[1]!], H, rules), "our chain flushed");
  assert.not.ok(rulesIntact([{ ...intact[0]!, jumps: 0 }, intact[1]!], H, rules), "our jump removed");
  assert.not.ok(rulesIntact([{ ...POST, rules: undefined, jumps: 0 }, { ...FWD, rules: undefined, jumps: 0 }], H, rules), "table flushed and chains deleted");
  assert.not.ok(rulesIntact([{ ...intact[0]!, rules: [rules[0]!.body.replace("10.0.0.0", "10.9.0.0")] }, intact[1]!], H, rules), "our rule changed by hand");
  assert.ok(rulesIntact([{ ...POST, rules: [], jumps: 0 }], H, []), "nothing expected, nothing found");
});

const argv = suite("iptables: argv");

argv("iptables always waits for the lock; inside a namespace it runs under ip netns exec", () => {
  assert.equal(iptablesArgv(undefined, ["-t", "nat", "-S", "NSLAB-PREROUTING"]), ["iptables", "-w", "5", "-t", "nat", "-S", "NSLAB-PREROUTING"]);
  assert.equal(iptablesArgv("red", ["-S", "FORWARD"]), ["ip", "netns", "exec", "red", "iptables", "-w", "5", "-S", "FORWARD"]);
  assert.equal(restoreArgv(undefined), ["iptables-restore", "-w", "5", "--noflush"]);
  assert.equal(restoreArgv("red"), ["ip", "netns", "exec", "red", "iptables-restore", "-w", "5", "--noflush"]);
});

const valid = suite("iptables: validation helpers");

valid("ports are integers 1-65535; ranges from:to with from <= to (B16)", () => {
  for (const p of [1, 80, 65535]) assert.is(portProblem(p), undefined);
  for (const p of [0, 65536, -1, 80.5, "80", NaN]) assert.is(portProblem(p), "use an integer port from 1 to 65535", String(p));
  for (const p of [80, "1:65535", "80:80", "8000:8080"]) assert.is(portOrRangeProblem(p), undefined, String(p));
  assert.is(portOrRangeProblem("8080:8000"), `the range is reversed; use "8000:8080"`);
  assert.is(portOrRangeProblem("0:80"), `use a port number (1-65535) or a range "from:to" such as "8000:8080"`);
  assert.is(portOrRangeProblem("1:70000"), "ports go from 1 to 65535");
  assert.is(portOrRangeProblem("80"), `use a port number (1-65535) or a range "from:to" such as "8000:8080"`);
  assert.is(portOrRangeProblem(0), "use an integer port from 1 to 65535");
});

valid("addresses are canonical IPv4 literals: IPv6 and host names refused (B17), canonical form named (B9)", () => {
  assert.is(ipv4Problem("10.0.0.1"), undefined);
  assert.match(ipv4Problem("2001:db8::1")!, /IPv6 is not supported here/);
  assert.match(ipv4Problem("example.com")!, /host names are refused .*DNS/);
  assert.match(ipv4Problem("localhost")!, /host names are refused/);
  assert.match(ipv4Problem("010.0.0.1")!, /write "10.0.0.1".*octal/);
  assert.match(ipv4Problem("0x0a000001")!, /write "10.0.0.1"/);
  assert.match(ipv4Problem(42)!, /use a string/);
  assert.is(ipv4NetworkProblem("10.0.0.0/24"), undefined);
  assert.is(ipv4NetworkProblem("0.0.0.0/0"), undefined);
  assert.match(ipv4NetworkProblem("10.0.0.1/24")!, /host bits set; write the network "10.0.0.0\/24"/);
  assert.match(ipv4NetworkProblem("10.0.0.1")!, /prefix length explicitly/);
  assert.is(ipv4NetworkProblem("10.0.0.1", true), undefined);
  assert.match(ipv4NetworkProblem("10.0.0.0/33")!, /prefix length must be an integer from 0 to 32/);
  assert.match(ipv4NetworkProblem("fd00::/64")!, /IPv6/);
  assert.match(ipv4NetworkProblem("example.com/24")!, /host names/);
  assert.is(hostAddressProblem("192.0.2.1"), undefined);
  for (const a of ["0.0.0.0", "255.255.255.255", "224.0.0.5"]) assert.match(hostAddressProblem(a)!, /unicast/, a);
  assert.match(hostAddressProblem("127.0.0.1")!, /loopback/);
});

names.run();
text.run();
chains.run();
argv.run();
valid.run();

const conntrack = suite("conntrack listing");

conntrack("a flow's first src/dst/sport/dport are the original direction, the second the reply", () => {
  const listing = [
    "tcp      6 119 TIME_WAIT src=10.0.0.9 dst=10.0.0.1 sport=36092 dport=8080 src=10.200.1.10 dst=10.0.0.9 sport=80 dport=36092 [ASSURED] mark=0 use=1",
    "udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=53894 dport=53 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=5353 dport=53894 mark=0 use=1",
    "",
  ].join("\n");
  assert.equal(parseConntrack(listing), [
    { protocol: "tcp", orig: { src: "10.0.0.9", dst: "10.0.0.1", sport: "36092", dport: "8080" }, reply: { src: "10.200.1.10", dst: "10.0.0.9", sport: "80", dport: "36092" } },
    { protocol: "udp", orig: { src: "127.0.0.1", dst: "127.0.0.1", sport: "53894", dport: "53" }, reply: { src: "127.0.0.1", dst: "127.0.0.1", sport: "5353", dport: "53894" } },
  ]);
  assert.equal(parseConntrack(""), []);
});

conntrack.run();
