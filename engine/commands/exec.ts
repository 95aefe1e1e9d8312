import { remoteCommand, sshOptions } from "../../provider/driver/ssh";
import type { Host } from "../../provider/lib/host";
import { CommandUsageError, find, hasNetns, inNetns, labArgs, labResources, netnsOf, runAttached, type LabResource } from "./lab";

// `nslab exec [DIR] NAME -- CMD…`: runs a command in the namespace of the stack's resource NAME
// (a Netns, a Process, a link...), with this terminal, on the resource's host; exits with the
// command's status.

export function execCommand(argv: string[]): number {
  const dash = argv.indexOf("--");
  if (dash < 0 || dash === argv.length - 1) throw new CommandUsageError("exec needs the command after --: nslab exec [DIR] NAME -- CMD...");
  const a = labArgs(argv.slice(0, dash));
  if (a.rest.length) throw new CommandUsageError(`exec takes [DIR] NAME before --, got also ${a.rest.join(" ")}`);
  const r = find(labResources(a), a.name, "resource with a namespace", hasNetns);
  return runAttached(onItsHost(r, inNetns(netnsOf(r), argv.slice(dash + 1))));
}

/** The resource's lab host, from its state; undefined: the machine nslab runs on. */
export const hostOfResource = (r: LabResource) => r.values.host as Host | undefined;

/**
 * argv run where the resource is: on its lab host over ssh with nslab's options, on a connection
 * of its own, with a pseudo-terminal when this is a terminal; else here.
 */
export function onItsHost(r: LabResource, argv: string[]): string[] {
  const host = hostOfResource(r);
  return host ? ["ssh", process.stdin.isTTY ? "-t" : "-T", ...sshOptions(host), host.address, remoteCommand(argv)] : argv;
}
