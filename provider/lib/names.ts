import { createHash } from "node:crypto";

// Kernel and iptables name rules (docs/kernel-facts.md, "Namespace names", "Interface names", "iptables") and the names nslab
// generates. Generated names are deterministic: the same inputs give the same name.

/** Interface names: 1-15 ASCII bytes, a safe subset of what dev_valid_name() accepts. */
export const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
/** Names the kernel refuses or that clash with /proc/sys/net/<family>/conf/{all,default}. */
const RESERVED_IFNAMES = new Set(["all", "default"]);

/** Why `name` is not a usable interface name, or undefined when it is. */
export function ifnameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return `use an interface name (a string) such as "eth0"`;
  if (Buffer.byteLength(name) > 15) return `it is ${Buffer.byteLength(name)} bytes long; the kernel allows at most 15 (IFNAMSIZ)`;
  if (!IFNAME.test(name)) return `use 1-15 characters from A-Z a-z 0-9 _ . - (not starting with "." or "-"); "/", ":", "%", whitespace, quotes and control characters are refused`;
  if (RESERVED_IFNAMES.has(name)) return `"${name}" clashes with /proc/sys/net/*/conf/${name}`;
  return undefined;
}

/** Netns names are file names under /run/netns; restricted to characters safe in shells. */
export const NETNS_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}$/;

export function netnsNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "use a namespace name (a string) or a Netns resource";
  if (name === "." || name === ".." || !NETNS_NAME.test(name)) {
    return `use 1-255 characters from A-Z a-z 0-9 _ . - (not starting with "-", not "." or "..")`;
  }
  return undefined;
}

/** Host-critical links nslab never creates, adopts or deletes in the host namespace (B23). */
export const HOST_CRITICAL_LINKS: ReadonlySet<string> = new Set(["lo", "eth0", "docker0", "cni0"]);

/** Lower-case hex SHA-256 of the parts, cut to `length` characters. */
export function shortHash(parts: readonly string[], length: number): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, length);
}

/**
 * A kernel name derived from a Pulumi resource name: its safe characters, cut so that
 * `-<hash>` fits in `max` bytes. The hash covers the project, the stack and the resource's
 * path, so two stacks of one program on one host get different names.
 */
export function derivedName(resourceName: string, salt: readonly string[], max: number): string {
  const hash = shortHash([...salt, resourceName], 4);
  const stem = resourceName.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[.-]+/, "").slice(0, max - hash.length - 1);
  return stem ? `${stem}-${hash}` : `n${hash}`;
}
