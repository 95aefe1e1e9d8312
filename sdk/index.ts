// The nslab SDK: `import * as nslab from "nslab"`.
export { Netns, type NetnsArgs } from "./resources/netns";
export { VethPair, type VethPairArgs } from "./resources/vethPair";
export { Bridge, type BridgeArgs } from "./resources/bridge";
export { Vxlan, type VxlanArgs } from "./resources/vxlan";
export { Address, type AddressArgs } from "./resources/address";
export { Route, type RouteArgs } from "./resources/route";
export { Sysctl, type SysctlArgs } from "./resources/sysctl";
export { NatRule, type NatRuleArgs } from "./resources/natRule";
export { PortForward, type PortForwardArgs } from "./resources/portForward";
export { FirewallRule, type FirewallRuleArgs } from "./resources/firewallRule";
export { Process, type ProcessArgs, type ProcessReady } from "./resources/process";
export { TrafficControl, type TrafficControlArgs, type LinkShaping } from "./resources/trafficControl";
export { Segment, Attachment, type SegmentArgs, type SegmentHost, type AttachmentArgs } from "./components/segment";
export { Router, type RouterArgs, type AllowRule } from "./components/router";
export { PublishedPort, type PublishedPortArgs } from "./components/publishedPort";
export type { Host } from "../provider/lib/host";
