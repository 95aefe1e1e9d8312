import { exec, type ExecResult } from "./exec";

// iproute2 argv building: `ip [-n NETNS] [-j] ...`. `-n` is cheaper than `ip netns exec`
// (one exec instead of two) and never changes the provider's own namespace.

/** A network namespace by name; undefined is the namespace the provider runs in. */
export type Netns = string | undefined;

export function ipArgv(netns: Netns, args: readonly string[], json = false): string[] {
  return ["ip", ...(netns ? ["-n", netns] : []), ...(json ? ["-j"] : []), ...args];
}

export function ip(netns: Netns, args: readonly string[], input?: string): Promise<ExecResult> {
  return exec(ipArgv(netns, args), input === undefined ? {} : { input });
}

/** Runs an `ip -j` read and parses it; an empty answer is an empty list. */
export async function ipJson<T>(netns: Netns, args: readonly string[]): Promise<T[]> {
  const { stdout } = await exec(ipArgv(netns, args, true));
  const text = stdout.trim();
  return text ? (JSON.parse(text) as T[]) : [];
}
