// Where a resource's commands run (docs/hosts.md): absent, the machine the provider runs on; else
// a lab host reached over SSH. A plain value in state: an identity file's path, never a key.

/** A lab host reached over SSH. These keys are the contract of the `host` input. */
export interface Host {
  /** Host name or IP address sshd listens on. */
  address: string;
  /** Login user. Default: ssh's own (your ~/.ssh/config, else the local user name). */
  user?: string;
  /** sshd's TCP port. Default: ssh's own (22, or your ~/.ssh/config). */
  port?: number;
  /** Absolute path of the private key to log in with. Default: ssh's own (the agent, ~/.ssh/id_*). */
  identityFile?: string;
}

const KEYS = ["address", "user", "port", "identityFile"];

/** What is wrong with a `host` input, what is allowed and the fix; undefined when it is a Host. */
export function hostProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "use an object { address, user?, port?, identityFile? }";
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.includes(k) && o[k] !== undefined);
  if (unknown.length) return `unknown key ${unknown.map((k) => `"${k}"`).join(", ")}: a host takes only ${KEYS.join(", ")}`;
  const word = /^[^\s-]\S*$/;
  if (typeof o.address !== "string" || !word.test(o.address) || o.address.includes("@")) {
    return "address must be a host name or IP address (non-empty, no blanks, no \"@\", not starting with \"-\"); give the user as user: \"root\"";
  }
  if (o.user !== undefined && (typeof o.user !== "string" || !word.test(o.user) || o.user.includes("@"))) return "user must be a login name (non-empty, no blanks or \"@\", not starting with \"-\")";
  if (o.port !== undefined && !(Number.isInteger(o.port) && (o.port as number) >= 1 && (o.port as number) <= 65535)) return "port must be an integer from 1 to 65535";
  if (o.identityFile !== undefined && (typeof o.identityFile !== "string" || !o.identityFile.startsWith("/"))) {
    return "identityFile must be an absolute path (the provider may run in another directory than the program): e.g. path.resolve(\"id_ed25519\")";
  }
  return undefined;
}

/** The host in messages: `user@address:port` with what is set. */
export function hostLabel(host: Host): string {
  return `${host.user ? `${host.user}@` : ""}${host.address}${host.port ? `:${host.port}` : ""}`;
}

/** One key per host (and login): records, locks, batches and connections are per host. */
export function hostKey(host: Host | undefined): string {
  return host ? JSON.stringify([host.address, host.user ?? "", host.port ?? 0, host.identityFile ?? ""]) : "";
}
