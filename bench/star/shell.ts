import * as fs from "node:fs";
import * as path from "node:path";
import { exec } from "../../provider/driver/exec";
import { BRIDGE, members, PEER, SUBNET, TO_PORT, type Member } from "./lab";
import type { Method } from "./method";

// The two shell methods: the star as generated scripts, written to the run's directory so a
// reader can look at them, and run with `sh -e`.
// - `shell-naive`: what a tutorial reader writes, one `ip -n NS` / `iptables` command per
//   operation; teardown the same way: every rule deleted, then the links, then the namespaces.
// - `ip-batch`: one `ip -batch` for the host's namespace, one `ip -n NS -batch` per namespace, one
//   `iptables-restore --noflush`; teardown by one iptables-restore and one `ip -batch` deleting
//   the links then the namespaces: near the limit of the iproute2/iptables route.
// The iptables rules are nslab's matches in the built-in chains: MASQUERADE and its FORWARD
// accept, per namespace a DNAT from outside (PREROUTING), one for the host's own traffic (OUTPUT)
// and a FORWARD accept of what was DNATed, so a FORWARD policy DROP would not break the lab.

interface Rule {
  table: "nat" | "filter";
  chain: string;
  spec: string;
}

function rules(star: Member[]): Rule[] {
  const nat = `-s ${SUBNET} ! -o ${BRIDGE.name}`;
  const local = "-m addrtype --dst-type LOCAL";
  return [
    { table: "nat", chain: "POSTROUTING", spec: `${nat} -j MASQUERADE` },
    { table: "filter", chain: "FORWARD", spec: `${nat} -j ACCEPT` },
    ...star.flatMap((m): Rule[] => {
      const dnat = `-p tcp ${local} -m tcp --dport ${m.hostPort} -j DNAT --to-destination ${m.ip}:${TO_PORT}`;
      return [
        { table: "nat", chain: "PREROUTING", spec: dnat },
        { table: "nat", chain: "OUTPUT", spec: `! -d 127.0.0.0/8 ${dnat}` },
        { table: "filter", chain: "FORWARD", spec: `-d ${m.ip}/32 -p tcp -m tcp --dport ${TO_PORT} -m conntrack --ctstate DNAT -j ACCEPT` },
      ];
    }),
  ];
}

const FORWARDING = "net.ipv4.ip_forward";
/** The forwarding value the teardown puts back. */
const forwardingNow = () => fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();

function naiveScripts(star: Member[]): { up: string[]; down: string[] } {
  const iptables = (op: "-A" | "-D", r: Rule) => `iptables ${r.table === "nat" ? "-t nat " : ""}${op} ${r.chain} ${r.spec}`;
  const all = rules(star);
  const up = [
    `sysctl -qw ${FORWARDING}=1`,
    `ip link add ${BRIDGE.name} type bridge`,
    `ip link set ${BRIDGE.name} up`,
    `ip addr add ${BRIDGE.address} dev ${BRIDGE.name}`,
    ...all.slice(0, 2).map((r) => iptables("-A", r)),
    ...star.flatMap((m, i) => [
      `ip netns add ${m.netns}`,
      `ip -n ${m.netns} link set lo up`,
      `ip link add ${m.veth} type veth peer name ${PEER} netns ${m.netns}`,
      `ip link set ${m.veth} master ${BRIDGE.name}`,
      `ip link set ${m.veth} up`,
      `ip -n ${m.netns} link set ${PEER} up`,
      `ip -n ${m.netns} addr add ${m.address} dev ${PEER}`,
      `ip -n ${m.netns} route add default via ${BRIDGE.ip}`,
      ...all.slice(2 + 3 * i, 5 + 3 * i).map((r) => iptables("-A", r)),
    ]),
  ];
  const down = [
    ...[...all].reverse().map((r) => iptables("-D", r)),
    ...star.map((m) => `ip link del ${m.veth}`),
    `ip link del ${BRIDGE.name}`,
    ...star.map((m) => `ip netns del ${m.netns}`),
    `sysctl -qw ${FORWARDING}=${forwardingNow()}`,
  ];
  return { up, down };
}

function restore(op: "-A" | "-D", all: Rule[]): string {
  return (["nat", "filter"] as const).map((t) => [`*${t}`, ...all.filter((r) => r.table === t).map((r) => `${op} ${r.chain} ${r.spec}`), "COMMIT"].join("\n")).join("\n") + "\n";
}

/** The ip-batch scripts and the files they read, by file name. */
function batchFiles(star: Member[]): Record<string, string> {
  const lines = (xs: string[]) => xs.join("\n") + "\n";
  const all = rules(star);
  const files: Record<string, string> = {
    "host.batch": lines([
      ...star.map((m) => `netns add ${m.netns}`),
      `link add ${BRIDGE.name} type bridge`,
      `link set ${BRIDGE.name} up`,
      `addr add ${BRIDGE.address} dev ${BRIDGE.name}`,
      ...star.flatMap((m) => [`link add ${m.veth} type veth peer name ${PEER} netns ${m.netns}`, `link set ${m.veth} master ${BRIDGE.name} up`]),
    ]),
    "up.rules": restore("-A", all),
    "down.rules": restore("-D", [...all].reverse()),
    "down.batch": lines([...star.map((m) => `link del ${m.veth}`), `link del ${BRIDGE.name}`, ...star.map((m) => `netns del ${m.netns}`)]),
  };
  for (const m of star) files[`${m.netns}.batch`] = lines(["link set lo up", `link set ${PEER} up`, `addr add ${m.address} dev ${PEER}`, `route add default via ${BRIDGE.ip}`]);
  return files;
}

function batchScripts(star: Member[], dir: string): { up: string[]; down: string[] } {
  const f = (name: string) => path.join(dir, name);
  return {
    up: [
      `sysctl -qw ${FORWARDING}=1`,
      `ip -batch ${f("host.batch")}`,
      ...star.map((m) => `ip -n ${m.netns} -batch ${f(`${m.netns}.batch`)}`),
      `iptables-restore --noflush ${f("up.rules")}`,
    ],
    down: [`iptables-restore --noflush ${f("down.rules")}`, `ip -batch ${f("down.batch")}`, `sysctl -qw ${FORWARDING}=${forwardingNow()}`],
  };
}

/** A shell method: its scripts (and the files they read) written to `work`, then run with sh -e. */
function shellMethod(name: string, generate: (star: Member[], dir: string) => { scripts: { up: string[]; down: string[] }; files?: Record<string, string> }): Method {
  return {
    name,
    async up(n, work) {
      const { scripts, files = {} } = generate(members(n), work);
      for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(work, file), text);
      const script = (kind: "up" | "down") => {
        const file = path.join(work, `${kind}.sh`);
        fs.writeFileSync(file, `# ${name}: ${kind} of the star lab of ${n} namespaces (npm run bench)\n${scripts[kind].join("\n")}\n`);
        return file;
      };
      const [up, down] = [script("up"), script("down")];
      await exec(["sh", "-e", up]);
      return async () => void (await exec(["sh", "-e", down]));
    },
  };
}

export const shellNaive = shellMethod("shell-naive", (star) => ({ scripts: naiveScripts(star) }));
export const ipBatch = shellMethod("ip-batch", (star, dir) => ({ scripts: batchScripts(star, dir), files: batchFiles(star) }));
