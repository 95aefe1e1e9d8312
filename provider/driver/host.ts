import { AsyncLocalStorage } from "node:async_hooks";
import { hostKey, type Host } from "../lib/host";

// The host a resource operation acts on, carried through its async calls (provider/index.ts
// enters it for each operation), so the driver's functions keep their signatures and every
// command, record, lock and batch goes to the resource's host (docs/hosts.md). Nothing is entered
// for a resource without host: a lab on the provider's machine alone never enables the store.

const store = new AsyncLocalStorage<Host>();

/** Runs fn with `host` as the current host (undefined: the provider's machine). */
export function onHost<T>(host: Host | undefined, fn: () => T): T {
  if (host) return store.run(host, fn);
  return store.getStore() ? store.exit(fn) : fn();
}

/** The host of the operation running now; undefined for the provider's machine. */
export function currentHost(): Host | undefined {
  return store.getStore();
}

/**
 * A group-commit key (lib/groupCommit.ts) of the current host: batches are per host. A batch runs
 * in the async context of the operation that started it, so on that host; `unscoped` gives back
 * the caller's own key.
 */
export function hostScoped(key: string): string {
  return `${hostKey(currentHost())}\0${key}`;
}

export function unscoped(key: string): string {
  return key.slice(key.indexOf("\0") + 1);
}
