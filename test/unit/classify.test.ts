import { suite } from "uvu";
import * as assert from "uvu/assert";
import { classify, DUMP_INTERRUPTED, toolOf } from "../../provider/driver/classify";
import type { ErrorCode } from "../../provider/errors";

// Every failure string recorded in docs/kernel-facts.md (tool, exit code, stderr) against the
// code the driver branches on; each row's source names the section (the heading of the comment
// above it) and the checklist codes. Strings printed with exit 0 are never classified (exec
// returns them as success): "Error: Peer netns reference is invalid." from `ip netns list`,
// iptables' comment truncation and the mixed-backend warning; C6's "Dump was interrupted" is a
// retry, tested at the end.

type Row = [argv0: string, exit: number, stderr: string, code: ErrorCode, source: string];

const IP_NS = ["ip", "netns", "exec", "lab"];

const rows: Row[] = [
  // Namespace names
  ["ip", 1, 'Cannot create namespace file "/run/netns/red": File exists', "ALREADY_EXISTS", "netns: add existing; I1; stale netns add"],
  ["ip", 1, 'Cannot remove namespace file "/run/netns/nosuch": No such file or directory', "NOT_FOUND", "netns: del missing; I2"],
  ["ip", 255, 'Invalid netns name "a/b"', "INVALID", "netns bad netns name; B7"],
  ["ip", 255, 'Cannot open network namespace "nosuch": No such file or directory', "NO_NETNS", "netns ip -n / netns exec missing"],
  ["ip", 255, 'setting the network namespace "stale" failed: Invalid argument', "NO_NETNS", "netns stale netns exec; I6"],
  // Interface names
  ["ip", 2, "Error: Attribute failed policy validation.", "INVALID", "ifname 16-byte name; B1; link altname 128; B22"],
  ["ip", 255, 'Error: argument "a/b" is wrong: "dev" not a valid ifname', "INVALID", "ifname '/', space, tab, ''; B2"],
  ["ip", 2, "RTNETLINK answers: Invalid argument", "INVALID", "ifname ':', '.', all, default, x%s; B3; MTU MTU at creation; B14"],
  ["ip", 255, 'Error: argument "type" is wrong: Invalid "vf" value', "INVALID", "ifname bare vf/mtu/...; B5"],
  ["ip", 255, 'Error: argument "type" is wrong: Device does not exist', "NOT_FOUND", "ifname bare master"],
  ["ip", 255, 'Error: either "dev" is duplicate, or "bridge" is a garbage.', "INVALID", "ifname bare dev"],
  ["ip", 255, 'both "name" and "dev" cannot be used when creating devices.', "INVALID", "ifname bare name"],
  ["ip", 255, "Usage: ip link add [link DEV | parentdev NAME] [ name ] NAME\n                   [ txqueuelen PACKETS ]", "INVALID", "ifname bare help"],
  ["ip", 1, '"type" is invalid lladdr.', "INVALID", "ifname bare address"],
  ["ip", 1, 'Cannot find device "type"', "NOT_FOUND", "ifname bare link"],
  ["ip", 1, 'Garbage instead of arguments "bridge ...". Try "ip link help".', "INVALID", "ifname bare type"],
  ["ip", 1, 'Not enough information: "type" argument is required', "INVALID", "ifname bare alias"],
  // Links
  ["ip", 2, "RTNETLINK answers: File exists", "ALREADY_EXISTS", "link existing name, peer name, altname; route duplicate route; I1; P7; C2"],
  ["ip", 1, 'Cannot find device "nosuch"', "NOT_FOUND", "link del/set missing; address device missing; I2"],
  ["ip", 255, 'Error: argument "nosuch" is wrong: Device does not exist', "NOT_FOUND", "link master nosuch"],
  ["ip", 2, "RTNETLINK answers: Operation not supported", "UNSUPPORTED", "link master is a veth"],
  ["ip", 255, 'Error: argument "nosuch" is wrong: Invalid "netns" value', "NO_NETNS", "link set netns nosuch"],
  ["ip", 2, "Error: An interface with the same name exists in the target netns.", "ALREADY_EXISTS", "link move into a netns with that name"],
  ["ip", 255, `Error: argument "${"a".repeat(256)}" is wrong: alias too long`, "INVALID", "link alias 256 bytes; B22"],
  // MTU
  ["ip", 2, "Error: mtu less than device minimum.", "INVALID", "MTU mtu 67; B14"],
  ["ip", 2, "Error: mtu greater than device maximum.", "INVALID", "MTU mtu 65536; B14"],
  ["ip", 255, 'Error: argument "abc" is wrong: Invalid "mtu" value', "INVALID", "MTU mtu abc; B14"],
  // Addresses
  ["ip", 2, "Error: ipv4: Address already assigned.", "ALREADY_EXISTS", "address duplicate IPv4; I1; C2"],
  ["ip", 2, "Error: ipv6: address already assigned.", "ALREADY_EXISTS", "address duplicate IPv6"],
  ["ip", 2, "Error: ipv4: Address not found.", "NOT_FOUND", "address delete missing; I2"],
  ["ip", 1, 'Error: any valid prefix is expected rather than "10.0.0.1/33".', "INVALID", "address bad CIDR; B10"],
  // Routes
  ["ip", 2, "RTNETLINK answers: No such process", "NOT_FOUND", "route delete missing route; I2"],
  ["ip", 2, "Error: Invalid prefix for given prefix length.", "INVALID", "route host bits; B12"],
  ["ip", 2, "Error: Nexthop has invalid gateway.", "INVALID", "route gateway not on-link; B13"],
  ["ip", 255, 'Error: argument "4294967296" is wrong: "table" value is invalid', "INVALID", "route table too big; B21"],
  ["ip", 2, "Error: ipv4: FIB table does not exist.\nFlush terminated", "NOT_FOUND", "route flush missing table"],
  // ip -batch
  ["ip", 1, "RTNETLINK answers: File exists\nCommand failed -:3", "ALREADY_EXISTS", "ip -batch batch stops at a failing line; P5"],
  ["ip", 1, "Command failed -:3", "COMMAND_FAILED", "ip -batch batch failure without a reason; P5"],
  // iptables
  ["iptables", 1, "iptables: Chain already exists.", "ALREADY_EXISTS", "iptables -N existing; I1; C2 parallel -N"],
  ["iptables", 1, "iptables: No chain/target/match by that name.", "NOT_FOUND", "iptables -X/-F missing chain, legacy -C/-D miss; I2"],
  ["iptables", 1, "iptables: Bad rule (does a matching rule exist in that chain?).", "NOT_FOUND", "iptables -C/-D miss; I2"],
  ["iptables", 1, "iptables: Index of deletion too big.", "NOT_FOUND", "iptables -D CHAIN 99"],
  ["iptables", 4, "iptables v1.8.9 (nf_tables):  CHAIN_DEL failed (Device or resource busy): chain LAB-PF", "BUSY", "iptables nft -X referenced/non-empty; P6"],
  ["iptables", 1, "iptables: Too many links.", "BUSY", "iptables legacy -X referenced; P6"],
  ["iptables", 1, "iptables: Directory not empty.", "BUSY", "iptables legacy -X non-empty; P6"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): Chain 'LAB-NOSUCH' does not exist\nTry `iptables -h' or 'iptables --help' for more information.", "NOT_FOUND", "iptables nft -j missing chain"],
  ["iptables", 2, "iptables v1.8.9 (legacy): Couldn't load target `LAB-NOSUCH':No such file or directory\n\nTry `iptables -h' or 'iptables --help' for more information.", "NOT_FOUND", "iptables legacy -j missing chain"],
  ["iptables", 2, `iptables v1.8.9 (nf_tables): chain name \`${"C".repeat(29)}' too long (must be under 29 chars)`, "INVALID", "iptables 29-char chain; B19"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): Invalid chain name `has space'", "INVALID", "iptables chain name with space; B19"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): chain name not allowed to start with `-'", "INVALID", "iptables chain name -bad; B19"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): chain name may not clash with target name", "INVALID", "iptables chain name ACCEPT; B19"],
  ["iptables-restore", 2, "iptables-restore v1.8.9 (nf_tables): Bad argument 'x -j RETURN'\nError occurred at line: 8", "INVALID", "iptables comment with a newline, restored; B18"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): invalid port/service `70000' specified", "INVALID", "iptables --dport 70000; B16"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): Port `70000' not valid", "INVALID", "iptables --to-destination :70000"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): Port `' not valid", "INVALID", "iptables --to-destination with an empty port"],
  ["iptables", 2, 'iptables v1.8.9 (nf_tables): Bad IP address "300.0.0.2"', "INVALID", "iptables --to-destination 300.0.0.2"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): Invalid address format", "INVALID", "iptables IPv6 DNAT target; B17"],
  ["iptables", 2, 'iptables v1.8.9 (nf_tables): unknown option "--dport"', "INVALID", "iptables --dport without -p; B16"],
  ["iptables", 2, 'iptables v1.8.9 (nf_tables): DNAT: option "--to-destination" must be specified', "INVALID", "iptables DNAT without target"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): invalid mask `33' specified", "INVALID", "iptables -s 10.0.0.1/33"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): host/network `example.invalid' not found", "INVALID", "iptables -s hostname; B17"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): host/network `lab.example' not found", "INVALID", "iptables -s hostname without 'invalid' in it; B17"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): interface name `abcdefghijklmnop' must be shorter than IFNAMSIZ (15)", "INVALID", "iptables -i 16 chars"],
  ["iptables", 2, "iptables v1.8.9 (nf_tables): Can't use -i with POSTROUTING", "INVALID", "iptables -i in POSTROUTING; B20"],
  ["iptables", 4, "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT", "INVALID", "iptables nft MASQUERADE in filter; B20"],
  ["iptables", 1, "iptables: Invalid argument. Run `dmesg' for more information.", "INVALID", "iptables legacy MASQUERADE in filter; B20"],
  ["iptables", 3, "iptables v1.8.9 (nf_tables): table 'nosuchtable' does not exist", "NOT_FOUND", "iptables nft unknown table"],
  ["iptables", 3, "iptables v1.8.9 (legacy): can't initialize iptables table `nosuchtable': Table does not exist (do you need to insmod?)", "NOT_FOUND", "iptables legacy unknown table"],
  // iptables-restore --noflush
  ["iptables-restore", 2, "iptables-restore v1.8.9 (nf_tables): Chain 'NOSUCHTARGET' does not exist\nError occurred at line: 6", "NOT_FOUND", "restore 3: nft bad line; P4"],
  ["iptables-restore", 2, "iptables-restore v1.8.9 (legacy): Couldn't load target `NOSUCHTARGET':No such file or directory\nError occurred at line: 5", "NOT_FOUND", "restore 3: legacy bad line; P4"],
  ["iptables-restore", 1, "iptables-nft-restore: line 2 failed: Bad rule (does a matching rule exist in that chain?).", "NOT_FOUND", "restore 4: nft -D missing rule"],
  ["iptables-restore", 1, "iptables-restore: line 2 failed", "COMMAND_FAILED", "restore 4/5: legacy, no reason given"],
  ["iptables-restore", 4, "iptables-nft-restore: line 3: CHAIN_DEL failed (Device or resource busy): chain MYCH", "BUSY", "restore 5: nft -X referenced"],
  ["iptables-restore", 1, "iptables-restore: COMMIT expected at line 4", "INVALID", "restore 7: batch without COMMIT"],
  ["iptables-restore", 1, "iptables-restore: line 2 failed: Chain already exists.", "ALREADY_EXISTS", "restore 10: -N existing in a batch"],
  ["iptables-restore", 2, "Error occurred at line: 6", "COMMAND_FAILED", "P4 the line alone"],
  // The xtables lock
  ["iptables", 4, "Can't lock /run/xtables.lock: Resource temporarily unavailable\nAnother app is currently holding the xtables lock. Stopped waiting after 1s.", "LOCKED", "xtables lock legacy -w 1; C5"],
  ["iptables-restore", 4, "Another app is currently holding the xtables lock. Stopped waiting after 5s.", "LOCKED", "xtables lock legacy restore; C5"],
  ["iptables", 4, "Another app is currently holding the xtables lock. Perhaps you want to use the -w option?", "LOCKED", "xtables lock older iptables; C5"],
  // Measured for Sysctl in a named namespace (driver/sysctl.ts)
  ["sysctl", 1, "sysctl: cannot stat /proc/sys/net/ipv4/nosuch: No such file or directory", "NOT_FOUND", "sysctl missing key"],
  ["sysctl", 1, 'sysctl: setting key "net.ipv4.ip_forward": Invalid argument', "INVALID", "sysctl refused value"],
  ["sysctl", 1, 'sysctl: permission denied on key "net.ipv4.ip_forward"', "PERMISSION_DENIED", "sysctl -w without root"],
  // Measured for TrafficControl on kernel 6.18, tc 6.1 (driver/tc.ts)
  ["tc", 2, "Error: Specified qdisc kind is unknown.", "UNSUPPORTED", "tc qdisc add netem without sch_netem"],
  ["tc", 1, 'Cannot find device "nosuch"', "NOT_FOUND", "tc on a missing device"],
  ["tc", 2, "Error: Invalid handle.", "NOT_FOUND", "tc qdisc del root handle H: of another root"],
  ["tc", 2, "Error: Cannot delete qdisc with handle of zero.", "NOT_FOUND", "tc qdisc del root of the default qdisc"],
  ["tc", 2, "Error: NLM_F_REPLACE needed to override.", "ALREADY_EXISTS", "tc qdisc add root over another root"],
  ["tc", 1, 'tbf: illegal value for "rate": "8xbit"', "INVALID", "tc bad unit"],
];

const test = suite("classify");

for (const [argv0, exit, stderr, code, source] of rows) {
  test(`classifies ${source} (${argv0}, exit ${exit}) as ${code}`, () => {
    assert.is(classify(toolOf([argv0]), exit, stderr), code, stderr);
  });
}

test("classifies the tool run inside a namespace by its own rows, and a failure to enter the namespace as NO_NETNS", () => {
  assert.is(classify(toolOf([...IP_NS, "iptables", "-N", "X"]), 1, "iptables: Chain already exists."), "ALREADY_EXISTS");
  assert.is(classify(toolOf([...IP_NS, "iptables", "-w", "5", "-S", "X"]), 4, "Another app is currently holding the xtables lock. Stopped waiting after 5s."), "LOCKED");
  assert.is(classify(toolOf([...IP_NS, "iptables", "-S", "X"]), 255, 'Cannot open network namespace "lab": No such file or directory'), "NO_NETNS");
  assert.is(classify(toolOf([...IP_NS, "conntrack", "-D"]), 255, 'exec of "conntrack" failed: No such file or directory'), "UNSUPPORTED");
  const nsenter = ["nsenter", "--net=/run/netns/lab", "sysctl", "-n", "net.ipv4.nosuch"];
  assert.is(classify(toolOf(nsenter), 1, "sysctl: cannot stat /proc/sys/net/ipv4/nosuch: No such file or directory"), "NOT_FOUND");
  assert.is(classify(toolOf(nsenter), 1, "nsenter: cannot open /run/netns/lab: No such file or directory"), "NO_NETNS");
  assert.is(classify(toolOf(nsenter), 1, "nsenter: reassociate to namespace 'ns/net' failed: Invalid argument"), "NO_NETNS", "a stale /run/netns file");
  assert.is(classify(toolOf(nsenter), 1, "nsenter: failed to execute sysctl: No such file or directory"), "UNSUPPORTED");
});

test("names the tool of an argv, looking through ip netns exec and nsenter", () => {
  const cases: [string[], string][] = [
    [["ip", "-n", "lab", "link", "show"], "ip"],
    [["iptables-restore", "-w", "5", "--noflush"], "iptables"],
    [["iptables-legacy", "-S"], "iptables"],
    [[...IP_NS, "iptables-restore"], "iptables"],
    [[...IP_NS, "ip", "link"], "ip"],
    [["nsenter", "--net=/run/netns/lab", "sysctl", "-n", "k"], "sysctl"],
    [["nsenter", "-t", "1"], "other"],
    [["conntrack", "-D"], "other"],
    [[], "other"],
  ];
  for (const [argv, tool] of cases) assert.is(toolOf(argv), tool, argv.join(" "));
});

test("a missing binary (exit 127) is UNSUPPORTED, and an unknown failure is COMMAND_FAILED", () => {
  assert.is(classify("other", 127, "sh: 1: conntrack: not found"), "UNSUPPORTED");
  assert.is(classify("ip", 1, "something nobody recorded"), "COMMAND_FAILED");
});

test("a dump interrupted by a concurrent change (exit 0) is recognised for a retry (C6)", () => {
  assert.ok(DUMP_INTERRUPTED.test("Dump was interrupted and may be inconsistent.\n"));
  assert.not.ok(DUMP_INTERRUPTED.test("RTNETLINK answers: File exists"));
});

test.run();
