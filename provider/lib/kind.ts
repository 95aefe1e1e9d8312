import type * as pulumi from "@pulumi/pulumi";

/** The kinds, by the name of their SDK class: the key of the provider registry (provider/index.ts) and of DIFFS. */
export type Kind = "Netns" | "VethPair" | "Bridge" | "Vxlan" | "Address" | "Route" | "Sysctl" | "NatRule" | "PortForward" | "FirewallRule" | "Process" | "TrafficControl";

/** What every nslab kind implements: all six operations (an update-less provider loses outputs). */
export type KindProvider<I = any, O = any> = Required<Omit<pulumi.dynamic.ResourceProvider<I, O>, "configure">>;
