import * as fs from "node:fs";
import * as path from "node:path";
import { exec } from "../provider/driver/exec";
import type { KindProvider } from "../provider/lib/kind";

// Runs a lab program inside the sandbox made by `nslab sandbox` (engine/cli.ts): the program runs
// unmodified under the real @pulumi/pulumi runtime in its mock mode, every nslab resource is
// checked and created by the real provider, then the lab is shown, and everything is deleted
// again in reverse order of creation. Nothing here touches the machine's own network: it only
// ever runs inside the throwaway sandbox.

const TOKEN = /^pulumi-nodejs:dynamic\/nslab:(\w+)$/;

interface Created {
  kind: string;
  name: string;
  id: string;
  outs: Record<string, unknown>;
}

async function main(dir: string): Promise<void> {
  const programDir = path.resolve(dir);
  const project = /^name:\s*(\S+)/m.exec(fs.readFileSync(path.join(programDir, "Pulumi.yaml"), "utf8"))?.[1] ?? "lab";
  const load = (id: string) => require(require.resolve(id, { paths: [programDir, ...(process.env.NODE_PATH ?? "").split(":")] }));
  const pulumi = load("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const { providers } = load("nslab/provider") as { providers: Record<string, KindProvider> };
  const created: Created[] = [];
  const failures: string[] = [];

  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const kind = TOKEN.exec(args.type)?.[1];
        const provider = kind ? providers[kind] : undefined;
        if (!kind || !provider) throw new Error(`${args.type} "${args.name}": only nslab resources run in the sandbox`);
        const { __provider: _, ...news } = args.inputs;
        const checked = await provider.check({}, news);
        if (checked.failures?.length) {
          const reasons = checked.failures.map((f) => f.reason);
          failures.push(...reasons);
          throw new Error(reasons.join("\n"));
        }
        const { id, outs } = await provider.create(checked.inputs);
        created.push({ kind, name: args.name, id, outs });
        console.log(`  + ${kind.padEnd(12)} ${args.name.padEnd(16)} ${id}`);
        return { id, state: outs };
      },
      call: () => {
        throw new Error("invokes are not supported in the sandbox");
      },
    },
    project,
    "sandbox",
    false,
  );

  console.log(`nslab sandbox: up ${path.relative(process.cwd(), programDir) || "."}`);
  let failed = false;
  process.on("unhandledRejection", (err) => {
    failed = true;
    console.error(`error: ${(err as Error).message ?? err}`);
  });
  try {
    require(path.join(programDir, "index.ts"));
  } catch (err) {
    failed = true;
    console.error(`error: ${(err as Error).message ?? err}`);
  }
  // Whatever happened, wait for the registrations in flight so that destroy sees them all.
  await load("@pulumi/pulumi/runtime/settings").waitForRPCs().catch(() => (failed = true));
  if (failures.length) failed = true;

  if (!failed) console.log(`\nThe lab, as the kernel sees it:\n${await show()}\nConnectivity (ping between the lab's addresses):\n${await pings(created)}`);

  console.log(`nslab sandbox: destroy`);
  for (const r of created.reverse()) {
    await providers[r.kind]!.delete(r.id, r.outs);
    console.log(`  - ${r.kind.padEnd(12)} ${r.name.padEnd(16)} ${r.id}`);
  }
  process.exitCode = failed ? 1 : 0;
}

/** Pings every address the lab made from every other namespace that holds one of its addresses. */
async function pings(created: Created[]): Promise<string> {
  const addresses = created
    .filter((r) => r.kind === "Address")
    .map((r) => ({ netns: r.outs.netns as string | undefined, ip: String(r.outs.address).split("/")[0]! }));
  const sources = [...new Set(addresses.map((a) => a.netns))];
  const lines: string[] = [];
  for (const from of sources) {
    for (const to of addresses.filter((a) => a.netns !== from)) {
      const ok = await exec(["ip", ...(from ? ["netns", "exec", from] : []), "ping", "-c1", "-W1", to.ip]).then(() => true, () => false);
      lines.push(`  ${from ?? "host"} -> ${to.ip} (${to.netns ?? "host"}): ${ok ? "ok" : "unreachable"}`);
    }
  }
  return lines.length ? lines.join("\n") + "\n" : "  (no addresses)\n";
}

/** `ip` views of the host namespace and of every namespace the lab made. */
async function show(): Promise<string> {
  const sections: string[] = [];
  const namespaces = fs.existsSync("/run/netns") ? fs.readdirSync("/run/netns") : [];
  for (const ns of [undefined, ...namespaces]) {
    const n = ns ? ["-n", ns] : [];
    const links = (await exec(["ip", ...n, "-br", "link"])).stdout;
    const addrs = (await exec(["ip", ...n, "-br", "addr"])).stdout;
    const routes = (await exec(["ip", ...n, "route"])).stdout;
    sections.push(`[${ns ? `netns ${ns}` : "host"}]\n${links}\n${addrs}\n${routes}`.trimEnd());
  }
  return sections.join("\n\n") + "\n";
}

void main(process.argv[2] ?? ".");
