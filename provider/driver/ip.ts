import { ipQueued } from "./batch";

// iproute2 argv building: `ip [-n NETNS] [-j] ...`. `-n` is cheaper than `ip netns exec`
// (one exec instead of two) and never changes the provider's own namespace. Commands run as
// lines of their namespace's next `ip -batch` (batch.ts) where they can.

/** A network namespace by name; undefined is the namespace the provider runs in. */
export type Netns = string | undefined;

export function ipArgv(netns: Netns, args: readonly string[], json = false): string[] {
  return ["ip", ...(netns ? ["-n", netns] : []), ...(json ? ["-j"] : []), ...args];
}

/** The leading global options of args (`-4`, `-d`, ...), and the command after them. */
function split(args: readonly string[]): [string[], string[]] {
  const n = args.findIndex((a) => !a.startsWith("-"));
  return n < 0 ? [[...args], []] : [args.slice(0, n), args.slice(n)];
}

/**
 * Runs `ip` in that namespace, batched with the concurrent commands of the same options; commands
 * of one namespace and options start in the order they are issued.
 */
function run(netns: Netns, args: readonly string[], read: boolean): Promise<string> {
  const [options, command] = split(args);
  return ipQueued(ipArgv(netns, args, read), netns, options, command, read);
}

/** Runs a write. */
export async function ip(netns: Netns, args: readonly string[]): Promise<void> {
  await run(netns, args, false);
}

/** Runs an `ip -j` read and parses it; an empty answer is an empty list. */
export async function ipJson<T>(netns: Netns, args: readonly string[]): Promise<T[]> {
  const text = (await run(netns, args, true)).trim();
  return text ? (JSON.parse(text) as T[]) : [];
}
