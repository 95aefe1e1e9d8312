import { CommandUsageError, find, hasNetns, inNetns, labArgs, labResources, netnsOf, runAttached } from "./lab";

// `nslab shell [DIR] NAME`: opens $SHELL (else /bin/sh) in the namespace of the stack's resource
// NAME; NSLAB_NETNS names the namespace there (for a prompt).

export function shellCommand(argv: string[]): number {
  const a = labArgs(argv);
  if (a.rest.length) throw new CommandUsageError(`shell takes [DIR] NAME, got also ${a.rest.join(" ")}`);
  const netns = netnsOf(find(labResources(a), a.name, "resource with a namespace", hasNetns));
  return runAttached(inNetns(netns, [process.env.SHELL || "/bin/sh"]), { ...process.env, NSLAB_NETNS: netns || "host" });
}
