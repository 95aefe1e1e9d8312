import { hostOfResource, onItsHost } from "./exec";
import { CommandUsageError, find, hasNetns, inNetns, labArgs, labResources, netnsOf, runAttached } from "./lab";

// `nslab shell [DIR] NAME`: opens $SHELL (else /bin/sh) in the namespace of the stack's resource
// NAME, on its host (there /bin/sh: this machine's $SHELL may not exist there); NSLAB_NETNS names
// the namespace there (for a prompt).

export function shellCommand(argv: string[]): number {
  const a = labArgs(argv);
  if (a.rest.length) throw new CommandUsageError(`shell takes [DIR] NAME, got also ${a.rest.join(" ")}`);
  const r = find(labResources(a), a.name, "resource with a namespace", hasNetns);
  const netns = netnsOf(r);
  const label = `NSLAB_NETNS=${netns || "host"}`;
  // A remote command starts with a clean environment: what the shell needs is passed with env.
  if (hostOfResource(r)) return runAttached(onItsHost(r, inNetns(netns, ["env", `TERM=${process.env.TERM || "dumb"}`, label, "/bin/sh"])));
  return runAttached(inNetns(netns, [process.env.SHELL || "/bin/sh"]), { ...process.env, NSLAB_NETNS: netns || "host" });
}
