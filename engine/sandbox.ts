import { execFileSync } from "node:child_process";

// The throwaway network sandbox (docs/design.md, "Tests run in a throwaway sandbox"): a new network namespace and a new mount
// namespace with a private tmpfs on /run (so /run/netns, /run/nslab and the xtables lock are the
// sandbox's own) and sysfs remounted for the new namespace, loopback up. Whatever runs inside
// can create namespaces, links, routes and iptables rules without touching the machine's own.

/** Set in the environment of every process inside a sandbox. */
export const SANDBOX_ENV = "NSLAB_SANDBOX";

const SETUP = [
  "set -e",
  "mount -t tmpfs -o mode=0755 nslab-sandbox /run",
  "mkdir -p /run/netns /run/lock",
  "mount -t sysfs sysfs /sys",
  "ip link set dev lo up",
  'exec "$@"',
].join("\n");

/** Why a sandbox cannot be made here, with what to do instead; undefined when it can. */
export function sandboxProblem(): string | undefined {
  if (process.platform !== "linux") return "the nslab sandbox needs Linux network and mount namespaces.";
  if (process.getuid?.() !== 0) {
    return "the nslab sandbox needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to create a private network and mount namespace. Run it as root, e.g.: sudo -E npm test";
  }
  for (const [tool, pkg] of [["unshare", "util-linux"], ["ip", "iproute2"]] as const) {
    try {
      execFileSync(tool, ["-V"], { stdio: "ignore" });
    } catch {
      return `the nslab sandbox needs \`${tool}\`; install it (Debian: apt-get install ${pkg}).`;
    }
  }
  return undefined;
}

/** The argv that runs `argv` inside a fresh sandbox (pass SANDBOX_ENV=1 in its environment). */
export function sandboxArgv(argv: readonly string[]): string[] {
  return ["unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", SETUP, "nslab-sandbox", ...argv];
}
