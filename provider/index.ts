import type { Kind } from "../sdk/internal/shim";
import type { KindProvider } from "./lib/kind";
import { address } from "./resources/address";
import { bridge } from "./resources/bridge";
import { firewallRule } from "./resources/firewallRule";
import { natRule } from "./resources/natRule";
import { netns } from "./resources/netns";
import { portForward } from "./resources/portForward";
import { route } from "./resources/route";
import { sysctl } from "./resources/sysctl";
import { vethPair } from "./resources/vethPair";

// The registry the SDK's shim loads by package name (`require("nslab/provider")`).

export const providers: Record<Kind, KindProvider> = {
  Netns: netns,
  Sysctl: sysctl,
  VethPair: vethPair,
  Bridge: bridge,
  Address: address,
  Route: route,
  NatRule: natRule,
  PortForward: portForward,
  FirewallRule: firewallRule,
};
