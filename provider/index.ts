import * as fs from "node:fs";
import { onHost } from "./driver/host";
import { netnsPath } from "./driver/netns";
import type { Host } from "./lib/host";
import { conflicts, type KernelView } from "./lib/conflicts";
import type { Kind, KindProvider } from "./lib/kind";
import { address } from "./resources/address";
import { bridge } from "./resources/bridge";
import { firewallRule } from "./resources/firewallRule";
import { natRule } from "./resources/natRule";
import { netns } from "./resources/netns";
import { portForward } from "./resources/portForward";
import { processKind } from "./resources/process";
import { route } from "./resources/route";
import { sysctl } from "./resources/sysctl";
import { trafficControl } from "./resources/trafficControl";
import { vethPair } from "./resources/vethPair";
import { vxlan } from "./resources/vxlan";

// The registry the SDK's shim loads by package name (`require("nslab/provider")`).

/**
 * `r` with the unset keys of its `key` object left out: the dynamic-provider host cannot send an
 * undefined value ("Unexpected struct type.").
 */
function defined<R extends object>(r: R, key: keyof R): R {
  const o = r[key];
  if (o === undefined || o === null) return r;
  return { ...r, [key]: Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
}

/** The kernel of this machine as the conflict checks see it: two file lookups, no process. */
const kernel: KernelView = {
  netnsExists: (name) => fs.existsSync(netnsPath(name)),
  hostLinkExists: (name) => fs.existsSync(`/sys/class/net/${name}`),
};

/**
 * A remote host's kernel is not looked at during check (it would cost a round trip per resource):
 * what is there shows at create, with the same errors.
 */
const remoteKernel: KernelView = { netnsExists: () => true, hostLinkExists: () => true };

const hostOf = (values: unknown) => (values as { host?: Host } | undefined)?.host;

/**
 * A kind whose operations act on the resource's host (driver/host.ts), whose answers never carry
 * undefined values, whatever its code returns, and whose check also finds the conflicts with the
 * resources checked before it (lib/conflicts.ts).
 */
function sendable<I, O>(kind: Kind, p: KindProvider<I, O>): KindProvider<I, O> {
  return {
    check: async (olds, news) => {
      const r = defined(await p.check(olds, news), "inputs");
      return r.failures?.length ? r : { ...r, failures: conflicts(kind, r.inputs as Record<string, unknown>, hostOf(news) ? remoteKernel : kernel) };
    },
    diff: (id, olds, news) => p.diff(id, olds, news),
    create: (inputs) => onHost(hostOf(inputs), async () => defined(await p.create(inputs), "outs")),
    read: (id, props) => onHost(hostOf(props), async () => defined(await p.read(id, props), "props")),
    update: (id, olds, news) => onHost(hostOf(news), async () => defined(await p.update(id, olds, news), "outs")),
    delete: (id, props) => onHost(hostOf(props), () => p.delete(id, props)),
  };
}

const kinds: Record<Kind, KindProvider> = {
  Netns: netns,
  Sysctl: sysctl,
  VethPair: vethPair,
  Bridge: bridge,
  Vxlan: vxlan,
  Address: address,
  Route: route,
  NatRule: natRule,
  PortForward: portForward,
  FirewallRule: firewallRule,
  Process: processKind,
  TrafficControl: trafficControl,
};

export const providers = Object.fromEntries(Object.entries(kinds).map(([k, p]) => [k, sendable(k as Kind, p)])) as Record<Kind, KindProvider>;
