import "./sandboxed";
import * as path from "node:path";
import { onLabHost, type LabHost } from "../../engine/sandboxHosts";

// The "remote hosts" of engine/sandboxHosts.ts, for tests and the bench, with what only they need.

export * from "../../engine/sandboxHosts";

/** The host's kernel snapshot (test/helpers/snapshot.ts), taken inside the host's namespaces. */
export function hostSnapshot(h: LabHost): string {
  const code = `process.stdout.write(require(${JSON.stringify(path.join(__dirname, "snapshot.ts"))}).kernelSnapshot())`;
  return onLabHost(h, process.execPath, "--import", "tsx", "-e", code);
}
