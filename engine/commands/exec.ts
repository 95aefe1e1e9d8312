import { CommandUsageError, find, hasNetns, inNetns, labArgs, labResources, netnsOf, runAttached } from "./lab";

// `nslab exec [DIR] NAME -- CMD…`: runs a command in the namespace of the stack's resource NAME
// (a Netns, a Process, a link...), with this terminal; exits with the command's status.

export function execCommand(argv: string[]): number {
  const dash = argv.indexOf("--");
  if (dash < 0 || dash === argv.length - 1) throw new CommandUsageError("exec needs the command after --: nslab exec [DIR] NAME -- CMD...");
  const a = labArgs(argv.slice(0, dash));
  if (a.rest.length) throw new CommandUsageError(`exec takes [DIR] NAME before --, got also ${a.rest.join(" ")}`);
  const r = find(labResources(a), a.name, "resource with a namespace", hasNetns);
  return runAttached(inNetns(netnsOf(r), argv.slice(dash + 1)));
}
