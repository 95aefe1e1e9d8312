import type { Kind } from "./kind";

// What replaces an object of each kind (its identity, docs/design.md "Kernel names are identity")
// and what changes in place. Read by the kind's own diff (typed there as DiffSpec<its inputs>, so
// a misspelt key does not compile), by the SDK (a resource's incarnation hashes its replace keys,
// sdk/internal/refs.ts) and by the schema generator (replaceOnChanges). Every kind's object is on
// its `host` (lib/host.ts): another host is another object. No runtime imports: the
// SDK loads this without any provider code.

export const DIFFS = {
  Netns: { replace: ["name", "host"], update: ["loopback", "owner"] },
  VethPair: {
    replace: ["name", "netns", "netnsIdentity", "peerName", "peerNetns", "peerNetnsIdentity", "host"],
    update: ["master", "masterIdentity", "peerMaster", "peerMasterIdentity", "mtu", "mac", "peerMac", "up", "owner"],
  },
  Bridge: { replace: ["name", "netns", "netnsIdentity", "host"], update: ["mtu", "stp", "up", "owner"] },
  Vxlan: {
    replace: ["name", "netns", "netnsIdentity", "vni", "remote", "local", "device", "dstPort", "host"],
    update: ["master", "masterIdentity", "mtu", "up", "owner"],
  },
  Address: { replace: ["netns", "netnsIdentity", "device", "deviceIdentity", "address", "host"], update: [] },
  Route: { replace: ["netns", "netnsIdentity", "destination", "table", "metric", "host"], update: ["device", "deviceIdentity", "addressIdentity"] },
  Sysctl: { replace: ["key", "netns", "netnsIdentity", "deviceIdentity", "host"], update: ["value", "owner"] },
  NatRule: { replace: ["netns", "netnsIdentity", "owner", "source", "outInterface", "notOutInterface", "host"], update: ["toSource"] },
  PortForward: { replace: ["netns", "netnsIdentity", "owner", "protocol", "hostPort", "hostAddress", "inInterface", "toAddress", "toPort", "host"], update: [] },
  FirewallRule: {
    replace: ["netns", "netnsIdentity", "owner", "chain", "source", "destination", "inInterface", "outInterface", "protocol", "destinationPort", "state", "host"],
    update: ["action", "priority"],
  },
  Process: { replace: ["netns", "netnsIdentity", "command", "env", "cwd", "host"], update: ["ready", "stopTimeout"] },
  // Every shaping input changes in place, also when it is removed (the kind's diff compares them all).
  TrafficControl: { replace: ["netns", "netnsIdentity", "device", "deviceIdentity", "host"], update: ["rate", "burst", "delay", "jitter", "loss", "duplicate", "corrupt", "limit"] },
} as const satisfies Record<Kind, { replace: readonly string[]; update: readonly string[] }>;
