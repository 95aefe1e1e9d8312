import { providers } from "../../provider";
import type { Kind } from "../../provider/lib/kind";
import { BRIDGE, members, PEER, PROJECT, STACK, SUBNET, TO_PORT, type Member } from "./lab";
import { inParallel, type Method } from "./method";

// The `provider` method: the star's resources through the providers' own check and create
// (provider/index.ts), without the engine: the cost of the provider itself. Inputs are what the
// SDK sends for the program in program/index.ts (names, and the referents' incarnations: any
// token the provider only compares, here the referent's kernel identity). Creates go in dependency order, one
// wave per level, at most PARALLEL at a time (the engine's default --parallel); destroy calls
// delete only where the engine would: not for the veth pairs and the namespaces' addresses and
// routes, which are `deletedWith` their namespace (sdk/internal/refs.ts deletedWithRef); the
// bridge's address, in the host's namespace, is deleted like any resource.

const PARALLEL = 8;

interface Made {
  kind: Kind;
  id: string;
  outs: Record<string, any>;
}

async function make(kind: Kind, name: string, news: Record<string, unknown>): Promise<Made> {
  const p = providers[kind];
  const checked = await p.check({}, { ...news, owner: { project: PROJECT, stack: STACK, path: [name] } });
  if (checked.failures?.length) throw new Error(`${kind} ${name}: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  const { id, outs } = await p.create(checked.inputs);
  return { kind, id, outs: outs as Record<string, any> };
}

const remove = (m: Made) => providers[m.kind].delete(m.id, m.outs);

/** Runs the tasks, at most PARALLEL at a time. */
const wave = (tasks: (() => Promise<unknown>)[]) => inParallel(tasks, PARALLEL, async (t) => void (await t()));

export const provider: Method = {
  name: "provider",
  async up(n) {
    const star = members(n);
    const made = { netns: [] as Made[], veths: [] as Made[], forwards: [] as Made[], rules: [] as Made[] };
    let bridge: Made | undefined;
    await wave([
      async () => (bridge = await make("Bridge", "bridge", { name: BRIDGE.name })),
      async () => made.rules.push(await make("Sysctl", "forwarding", { key: "net.ipv4.ip_forward", value: 1 })),
      async () => made.rules.push(await make("NatRule", "nat", { source: SUBNET, notOutInterface: BRIDGE.name })),
      ...star.map((m) => async () => (made.netns[m.i] = await make("Netns", `ns${m.i}`, { name: m.netns }))),
      ...star.map((m) => async () => (made.forwards[m.i] = await make("PortForward", `web${m.i}`, { hostPort: m.hostPort, toAddress: m.ip, toPort: TO_PORT }))),
    ]);
    const br = bridge!;
    await wave([
      async () => made.rules.push(await make("Address", "bridge-ip", { device: BRIDGE.name, deviceIdentity: String(br.outs.ifindex), address: BRIDGE.address })),
      ...star.map((m) => async () => {
        made.veths[m.i] = await make("VethPair", `veth${m.i}`, {
          name: m.veth,
          master: BRIDGE.name,
          masterIdentity: String(br.outs.ifindex),
          peerName: PEER,
          peerNetns: m.netns,
          peerNetnsIdentity: made.netns[m.i]!.outs.identity,
        });
      }),
    ]);
    const onPeer = (m: Member) => ({ device: PEER, deviceIdentity: String(made.veths[m.i]!.outs.peerIfindex), netns: m.netns });
    await wave(star.map((m) => () => make("Address", `ip${m.i}`, { ...onPeer(m), address: m.address })));
    await wave(star.map((m) => () => make("Route", `default${m.i}`, { ...onPeer(m), destination: "default", via: BRIDGE.ip })));
    return async () => {
      // What nothing depends on first (the rules, the sysctl, the bridge's address), then the namespaces and the bridge.
      await wave([...made.forwards, ...made.rules].map((m) => () => remove(m)));
      await wave([...made.netns, br].map((m) => () => remove(m)));
    };
  },
};
