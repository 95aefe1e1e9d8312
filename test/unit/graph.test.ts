import { suite } from "uvu";
import * as assert from "uvu/assert";
import { labGraph, toDot, toMermaid } from "../../engine/graph";
import type { ResourceState } from "../../engine/state";
import type { Op } from "../../engine/steps";
import { UNKNOWN, type Props } from "../../engine/values";
import { derivedName } from "../../provider/lib/names";

// `nslab graph`'s pure part: the lab's resources (as state holds them) drawn as Mermaid and DOT:
// namespaces as boxes, the bridge as a switch, veth ends as interfaces with their addresses and
// routes, NAT and port forwards as labelled arrows, and a preview's marks.

const test = suite("graph");

const urn = (type: string, name: string) => `urn:pulumi:dev::lab::${type}::${name}`;
const kind = (k: string) => `pulumi-nodejs:dynamic/nslab:${k}`;
const res = (k: string, name: string, outputs: Props): ResourceState => ({ urn: urn(kind(k), name), custom: true, id: name, type: kind(k), inputs: {}, outputs });

// host: bridge br0 10.0.0.1/24, forwarding, MASQUERADE of 10.0.0.0/24 leaving elsewhere, :8080 -> a's :80
// a, b: eth0 (peer of va / vb, ports of br0) 10.0.0.2/24 and 10.0.0.3/24, default via 10.0.0.1
const LAB: ResourceState[] = [
  { urn: urn("pulumi:pulumi:Stack", "lab-dev"), custom: false, type: "pulumi:pulumi:Stack", inputs: {}, outputs: {} },
  { urn: urn("pulumi:providers:pulumi-nodejs", "default"), custom: true, id: "p", type: "pulumi:providers:pulumi-nodejs", inputs: {}, outputs: {} },
  { urn: urn("nslab:index:Segment", "seg"), custom: false, type: "nslab:index:Segment", inputs: {}, outputs: {} },
  res("Netns", "a", { name: "a-1234" }),
  res("Netns", "b", { name: "b-5678" }),
  res("Bridge", "br", { name: "br0" }),
  res("Address", "br-ip", { device: "br0", address: "10.0.0.1/24" }),
  res("VethPair", "va", { name: "va", master: "br0", peerName: "eth0", peerNetns: "a-1234" }),
  res("VethPair", "vb", { name: "vb", master: "br0", peerName: "eth0", peerNetns: "b-5678" }),
  res("Address", "a-ip", { device: "eth0", netns: "a-1234", address: "10.0.0.2/24" }),
  res("Address", "b-ip", { device: "eth0", netns: "b-5678", address: "10.0.0.3/24" }),
  res("Route", "a-default", { destination: "default", via: "10.0.0.1", netns: "a-1234" }),
  res("Route", "b-default", { destination: "default", via: "10.0.0.1", device: "eth0", netns: "b-5678" }),
  res("Sysctl", "forwarding", { key: "net.ipv4.ip_forward", value: 1 }),
  res("NatRule", "nat", { source: "10.0.0.0/24", notOutInterface: "br0" }),
  res("PortForward", "web", { hostPort: 8080, toAddress: "10.0.0.2", toPort: 80, protocol: "tcp" }),
];

test("draws namespaces as boxes, the bridge as a switch, veths as links with the interfaces' addresses and routes, NAT and DNAT as arrows", () => {
  assert.fixture(
    toMermaid(labGraph(LAB)),
    `flowchart LR
  subgraph ns0["host (forwarding)"]
    d0{{"br0 (bridge)<br/>10.0.0.1/24"}}
  end
  subgraph ns1["netns a-1234"]
    d1(["eth0<br/>10.0.0.2/24<br/>default via 10.0.0.1"])
  end
  subgraph ns2["netns b-5678"]
    d2(["eth0<br/>10.0.0.3/24<br/>default via 10.0.0.1"])
  end
  x0(("outside"))
  d0 ---|"va"| d1
  d0 ---|"vb"| d2
  d0 -->|"MASQUERADE 10.0.0.0/24 ! -o br0"| x0
  x0 -->|"DNAT tcp :8080 → 10.0.0.2:80"| d1
`,
  );
});

test("prints the same graph whatever order the resources come in", () => {
  assert.is(toMermaid(labGraph([...LAB].reverse())), toMermaid(labGraph(LAB)));
});

test("draws the same lab as DOT: a cluster per namespace, a hexagon bridge, undirected veths, directed NAT", () => {
  assert.fixture(
    toDot(labGraph(LAB)),
    `digraph lab {
  rankdir=LR;
  fontname="Helvetica";
  node [fontname="Helvetica" fontsize=10 shape=box];
  edge [fontname="Helvetica" fontsize=9];
  subgraph cluster_ns0 {
    label="host (forwarding)";
    style="rounded";
    d0 [label="br0 (bridge)\\n10.0.0.1/24" shape=hexagon];
  }
  subgraph cluster_ns1 {
    label="netns a-1234";
    style="rounded";
    d1 [label="eth0\\n10.0.0.2/24\\ndefault via 10.0.0.1" style="rounded"];
  }
  subgraph cluster_ns2 {
    label="netns b-5678";
    style="rounded";
    d2 [label="eth0\\n10.0.0.3/24\\ndefault via 10.0.0.1" style="rounded"];
  }
  x0 [label="outside" shape=ellipse];
  d0 -> d1 [label="va" dir=none];
  d0 -> d2 [label="vb" dir=none];
  d0 -> x0 [label="MASQUERADE 10.0.0.0/24 ! -o br0"];
  x0 -> d1 [label="DNAT tcp :8080 → 10.0.0.2:80"];
}
`,
  );
});

test("draws a veth between two namespaces end to end, SNAT to its out interface, a forward from its host address", () => {
  const g = labGraph([
    res("VethPair", "up", { name: "up0", peerName: "eth0", peerNetns: "out" }),
    res("Address", "up-ip", { device: "up0", address: "203.0.113.1/24" }),
    res("NatRule", "snat", { source: "10.9.0.0/16", outInterface: "up0", toSource: "203.0.113.1" }),
    res("PortForward", "ssh", { hostPort: 2222, hostAddress: "203.0.113.1", toAddress: "10.9.0.5", toPort: 22, protocol: "tcp" }),
  ]);
  assert.fixture(
    toMermaid(g),
    `flowchart LR
  subgraph ns0["host"]
    d0(["up0<br/>203.0.113.1/24"])
  end
  subgraph ns1["netns out"]
    d1(["eth0"])
  end
  x0(("10.9.0.0/16"))
  x1(("10.9.0.5"))
  d0 ---|"up"| d1
  x0 -->|"SNAT 10.9.0.0/16 → 203.0.113.1 -o up0"| d0
  d0 -->|"DNAT tcp 203.0.113.1:2222 → 10.9.0.5:22"| x1
`,
  );
});

test("draws a namespace with nothing in it by its loopback", () => {
  assert.fixture(toMermaid(labGraph([res("Netns", "empty", { name: "empty-1" })])), `flowchart LR\n  subgraph ns0["netns empty-1"]\n    ns0lo["lo"]\n  end\n`);
});

test("shows a preview's unknown values as [unknown] and secrets as [secret]", () => {
  const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: '"10.0.0.9/24"' };
  const g = labGraph([res("VethPair", "v", { name: "v0", peerName: UNKNOWN }), res("Address", "ip", { device: "v0", address: secret })]);
  assert.equal(
    g.namespaces[0]!.devices.map((d) => [d.name, d.addresses.map((a) => a.text)]),
    [
      ["[unknown]", []],
      ["v0", ["[secret]"]],
    ],
  );
});

test("marks what a preview adds (+), changes (~, +-) and removes (-), with classes and link styles", () => {
  const changes: Record<string, Op> = {
    [urn(kind("Netns"), "c")]: "create",
    [urn(kind("VethPair"), "vc")]: "create",
    [urn(kind("Address"), "c-ip")]: "create",
    [urn(kind("VethPair"), "va")]: "update",
    [urn(kind("Address"), "b-ip")]: "replace",
    [urn(kind("PortForward"), "web")]: "delete",
    [urn(kind("Netns"), "a")]: "same",
  };
  const planned = [
    ...LAB,
    res("Netns", "c", { name: "c-9abc" }),
    res("VethPair", "vc", { name: "vc", master: "br0", peerName: "eth0", peerNetns: "c-9abc" }),
    res("Address", "c-ip", { device: "eth0", netns: "c-9abc", address: "10.0.0.4/24" }),
  ];
  const text = toMermaid(labGraph(planned, changes));
  assert.ok(text.includes(`  subgraph ns2["netns b-5678"]\n    d2(["~ eth0<br/>+- 10.0.0.3/24<br/>default via 10.0.0.1"])\n  end\n`), text);
  assert.ok(text.includes(`  subgraph ns3["+ netns c-9abc"]\n    d3(["+ eth0<br/>+ 10.0.0.4/24"])\n  end\n`), text);
  assert.ok(text.includes(`  d0 ---|"~ va"| d1\n  d0 ---|"vb"| d2\n  d0 ---|"+ vc"| d3\n`), text);
  assert.ok(text.includes(`  x0 -->|"- DNAT tcp :8080 → 10.0.0.2:80"| d1\n`), text);
  assert.ok(
    text.endsWith(`  classDef added fill:#dafbe1,stroke:#1a7f37,color:#1a7f37
  class ns3,d3 added
  classDef changed fill:#fff8c5,stroke:#9a6700,color:#9a6700
  class d1,d2 changed
  linkStyle 0 stroke:#9a6700,stroke-width:2px
  linkStyle 2 stroke:#1a7f37,stroke-width:2px
  linkStyle 4 stroke:#cf222e,stroke-width:2px,stroke-dasharray:4 3
`),
    text,
  );
  const dot = toDot(labGraph(planned, changes));
  assert.ok(dot.includes(`    label="+ netns c-9abc";\n    style="rounded,filled";\n    color="#1a7f37";\n    fontcolor="#1a7f37";\n    fillcolor="#dafbe1";\n`), dot);
  assert.ok(dot.includes(`  x0 -> d1 [label="- DNAT tcp :8080 → 10.0.0.2:80" color="#cf222e" fontcolor="#cf222e" penwidth=2 style=dashed];\n`), dot);
});

test("labels namespaces, bridges and veths whose kernel name nslab derived with their resource names; draws each router's policy and the other FirewallRules in chain order", () => {
  const owner = (...path: string[]) => ({ project: "lab", stack: "dev", path });
  const derived = (max: number, ...path: string[]) => derivedName(path[path.length - 1]!, ["lab", "dev", ...path.slice(0, -1)], max);
  const [rtNs, bridge, leg, uplink] = [derived(64, "home", "home-netns"), derived(15, "lan", "lan-bridge"), derived(15, "home", "home-lan-leg"), derived(15, "home", "home-uplink")];
  const routerUrn = urn("nslab:index:Router", "home");
  const child = (r: ResourceState): ResourceState => ({ ...r, parent: routerUrn, inputs: { owner: owner("home", r.urn.split("::").pop()!) } });
  const lab: ResourceState[] = [
    { urn: routerUrn, custom: false, type: "nslab:index:Router", inputs: {}, outputs: { netns: rtNs, policy: ["NAT out of the uplink: lan", "inbound: replies and published ports only"] } },
    child(res("Netns", "home-netns", { name: rtNs })),
    { ...res("Bridge", "lan-bridge", { name: bridge }), inputs: { owner: owner("lan", "lan-bridge") } },
    child(res("VethPair", "home-lan-leg", { name: leg, master: bridge, peerName: "lan", peerNetns: rtNs })),
    child(res("VethPair", "home-uplink", { name: uplink, netns: "isp", peerName: "uplink", peerNetns: rtNs })),
    { ...res("VethPair", "given", { name: "veth-given", peerName: "eth0", peerNetns: "isp" }), inputs: { owner: owner("given") } },
    child(res("FirewallRule", "home-inbound-forward", { action: "drop", chain: "forward", priority: 2000, inInterface: "uplink", netns: rtNs })),
    res("FirewallRule", "close", { action: "reject", chain: "forward", priority: 50, inInterface: "uplink", protocol: "tcp", destinationPort: 80, state: ["new"], netns: rtNs }),
    res("FirewallRule", "no-ping", { action: "drop", chain: "input", priority: 100, protocol: "icmp", netns: rtNs }),
    res("FirewallRule", "a-b", { action: "accept", chain: "forward", priority: 10, source: "10.1.0.0/24", destination: "10.2.0.5", netns: rtNs }),
  ];
  assert.fixture(
    toMermaid(labGraph(lab)),
    `flowchart LR
  subgraph ns0["host"]
    d0{{"lan-bridge (bridge)"}}
    d1(["veth-given"])
  end
  subgraph ns1["netns home-netns"]
    d2(["lan"])
    d3(["uplink"])
    ns1f>"filter<br/>router home<br/>NAT out of the uplink: lan<br/>inbound: replies and published ports only<br/>drop input icmp<br/>accept forward 10.1.0.0/24 → 10.2.0.5<br/>reject forward tcp/80 in uplink (new)"]
  end
  subgraph ns2["netns isp"]
    d4(["eth0"])
    d5(["home-uplink"])
  end
  d1 ---|"given"| d4
  d0 ---|"home-lan-leg"| d2
  d5 ---|"home-uplink"| d3
`,
  );
  assert.ok(toDot(labGraph(lab)).includes(`    ns1f [label="filter\\nrouter home\\nNAT out of the uplink: lan\\n`), toDot(labGraph(lab)));
});

test("draws nothing but the frame for a state with no lab resources", () => {
  assert.is(toMermaid(labGraph(LAB.slice(0, 3))), "flowchart LR\n");
  assert.is(toDot(labGraph([])).split("\n").length, 7);
});

test("draws a Process in its namespace and a TrafficControl on the veth it shapes (or on its interface)", () => {
  const lab = [
    res("Netns", "a", { name: "a-1234" }),
    res("VethPair", "link", { name: "va", netns: "a-1234", peerName: "vb" }),
    res("Bridge", "br", { name: "br0" }),
    res("Process", "web", { netns: "a-1234", command: ["python3", "-m", "http.server", "80"] }),
    res("TrafficControl", "slow", { device: "va", netns: "a-1234", rate: "8mbit" }),
    res("TrafficControl", "lossy", { device: "br0", loss: "1%" }),
  ];
  assert.fixture(
    toMermaid(labGraph(lab)),
    `flowchart LR
  subgraph ns0["host"]
    d0{{"br0 (bridge)<br/>egress loss 1%"}}
    d1(["vb"])
  end
  subgraph ns1["netns a-1234"]
    d2(["va"])
    d3[/"web: python3 -m http.server 80"/]
  end
  d2 ---|"link · va → rate 8mbit"| d1
`,
  );
  assert.match(toDot(labGraph(lab)), /d3 \[label="web: python3 -m http.server 80" shape=parallelogram\];/);
});

test("groups namespaces by host and draws each VXLAN tunnel once between its ends' bridges (a remote of no Vxlan as an external node)", () => {
  const on = (address: string, r: ResourceState): ResourceState => ({ ...r, outputs: { ...r.outputs, host: { address, user: "root", identityFile: "/k" } } });
  const vx = (local: string, remote: string[]) => ({ name: "vx0", vni: 42, dstPort: 4789, local, remote, master: "seg" });
  const lab = [
    res("Bridge", "seg-local", { name: "seg" }),
    res("Vxlan", "vx-local", vx("10.250.0.1", ["10.250.0.2", "10.250.0.3"])),
    res("Netns", "l", { name: "l" }),
    res("VethPair", "l-veth", { name: "l-v", master: "seg", peerName: "eth0", peerNetns: "l" }),
    on("10.250.0.2", res("Bridge", "seg-h2", { name: "seg" })),
    // Without `local`, its host's address is its end.
    on("10.250.0.2", res("Vxlan", "vx-h2", { name: "vx0", vni: 42, dstPort: 4789, remote: ["10.250.0.1", "10.250.0.3"], master: "seg" })),
    on("10.250.0.2", res("Netns", "a", { name: "a" })),
    on("10.250.0.2", res("VethPair", "a-veth", { name: "a-v", master: "seg", peerName: "eth0", peerNetns: "a" })),
    on("10.250.0.2", res("Address", "a-ip", { device: "eth0", netns: "a", address: "10.9.0.2/24" })),
    // The same kernel names on another host are other objects.
    on("10.250.0.3", res("Netns", "a3", { name: "a" })),
    on("10.250.0.3", res("Vxlan", "vx-h3", { name: "vx0", vni: 42, dstPort: 4789, local: "10.250.0.3", remote: ["10.250.0.1", "10.250.0.2", "10.250.0.9"], netns: "a" })),
  ];
  assert.fixture(
    toMermaid(labGraph(lab)),
    `flowchart LR
  subgraph h0["local machine"]
    subgraph ns0["host"]
      d0{{"seg (bridge)"}}
    end
    subgraph ns1["netns l"]
      d1(["eth0"])
    end
  end
  subgraph h1["host 10.250.0.2"]
    subgraph ns2["host"]
      d2{{"seg (bridge)"}}
    end
    subgraph ns3["netns a"]
      d3(["eth0<br/>10.9.0.2/24"])
    end
  end
  subgraph h2["host 10.250.0.3"]
    subgraph ns4["netns a"]
      d4[["vx0 (vxlan)"]]
    end
  end
  x0(("10.250.0.9"))
  d2 ---|"a-veth"| d3
  d0 ---|"l-veth"| d1
  d2 ---|"vxlan 42"| d0
  d2 ---|"vxlan 42"| d4
  d4 ---|"vxlan 42"| d0
  d4 ---|"vxlan 42"| x0
`,
  );
  const dot = toDot(labGraph(lab));
  assert.ok(dot.includes(`  subgraph cluster_h1 {\n    label="host 10.250.0.2";\n    style="dashed";\n    subgraph cluster_ns2 {\n      label="host";\n`), dot);
  assert.match(dot, /d4 \[label="vx0 \(vxlan\)" shape=box3d\];/);
});

test.run();
