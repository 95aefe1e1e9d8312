import { suite } from "uvu";
import * as assert from "uvu/assert";
import { setProcessHook } from "../../provider/driver/exec";
import { ip, ipJson } from "../../provider/driver/ip";
import { sh } from "../helpers/kernel";

// Concurrent `ip` commands of one namespace run as the lines of one `ip -force -batch` process
// (provider/driver/batch.ts), and each still gets exactly its own answer or error.

const test = suite("ip batches");

/** Runs fn and returns the `ip` processes it started. */
async function processes(fn: () => Promise<unknown>): Promise<string[][]> {
  const seen: string[][] = [];
  setProcessHook((argv) => void (argv[0] === "ip" && seen.push([...argv])));
  try {
    await fn();
  } finally {
    setProcessHook(undefined);
  }
  return seen;
}

interface Addr {
  ifname: string;
  addr_info: { local: string }[];
}

test.before.each(() => {
  sh("ip", "netns", "add", "a");
  sh("ip", "-n", "a", "link", "add", "name", "v0", "type", "veth", "peer", "name", "v1");
});
test.after.each(() => {
  sh("ip", "netns", "del", "a");
});

test("concurrent commands in a namespace share one process; a failing line fails only its own command", async () => {
  const results: PromiseSettledResult<unknown>[] = [];
  const seen = await processes(async () => {
    results.push(
      ...(await Promise.allSettled([
        ...[1, 2, 3].map((i) => ip("a", ["addr", "add", `10.0.0.${i}/24`, "dev", "v0"])),
        ip("a", ["addr", "add", "10.0.1.1/24", "dev", "nope"]),
        ip("a", ["addr", "add", "10.0.0.1/24", "dev", "v0"]),
        ip("a", ["link", "set", "dev", "v0", "up"]),
      ])),
    );
  });
  assert.equal(seen, [["ip", "-n", "a", "-j", "-force", "-batch", "-"]], "one process for the six commands");
  assert.equal(results.map((r) => r.status), ["fulfilled", "fulfilled", "fulfilled", "rejected", "rejected", "fulfilled"]);
  const missing = (results[3] as PromiseRejectedResult).reason as Error & { code: string };
  assert.is(missing.code, "NOT_FOUND");
  assert.match(missing.message, /\$ ip -n a addr add 10\.0\.1\.1\/24 dev nope\n\s+Cannot find device "nope"/);
  const twice = (results[4] as PromiseRejectedResult).reason as Error & { code: string };
  assert.is(twice.code, "ALREADY_EXISTS");
  assert.match(twice.message, /\$ ip -n a addr add 10\.0\.0\.1\/24 dev v0\n\s+Error: ipv4: Address already assigned\./);
  assert.not.match(twice.message, /nope/, "no other line's error");
  const held = JSON.parse(sh("ip", "-n", "a", "-j", "addr", "show", "dev", "v0")) as Addr[];
  assert.equal(held[0]!.addr_info.map((a) => a.local).filter((l) => l.startsWith("10.")), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
  assert.match(sh("ip", "-n", "a", "link", "show", "dev", "v0"), /[<,]UP[,>]/);
});

test("reads answer in order among writes, and see the writes queued before them", async () => {
  const [, before, , after, missing] = await Promise.allSettled([
    ip("a", ["link", "set", "dev", "v1", "up"]),
    ipJson<Addr>("a", ["addr", "show", "dev", "v1"]),
    ip("a", ["addr", "add", "10.9.0.1/16", "dev", "v1"]),
    ipJson<Addr>("a", ["addr", "show", "dev", "v1"]),
    ipJson<Addr>("a", ["addr", "show", "dev", "nope"]),
  ]);
  const locals = (r: PromiseSettledResult<Addr[]>) => (r.status === "fulfilled" ? r.value[0]!.addr_info.map((a) => a.local) : r.reason);
  assert.not.ok((locals(before as PromiseSettledResult<Addr[]>) as string[]).includes("10.9.0.1"));
  assert.ok((locals(after as PromiseSettledResult<Addr[]>) as string[]).includes("10.9.0.1"));
  assert.is(missing.status, "rejected");
  assert.match(String((missing as PromiseRejectedResult).reason.message), /\$ ip -n a -j addr show dev nope\n\s+Device "nope" does not exist\./);
});

test("commands of a namespace that does not exist each fail as they would alone", async () => {
  const results = await Promise.allSettled([ip("nosuch", ["link", "set", "dev", "lo", "up"]), ipJson("nosuch", ["link", "show"])]);
  for (const [i, argv] of ["ip -n nosuch link set dev lo up", "ip -n nosuch -j link show"].entries()) {
    const err = (results[i] as PromiseRejectedResult).reason as Error & { code: string };
    assert.is(err.code, "NO_NETNS");
    assert.match(err.message, new RegExp(`\\$ ${argv}\\n\\s+Cannot open network namespace "nosuch"`));
  }
});

test("a word a batch line cannot carry runs in its own process, unchanged and in its turn", async () => {
  let alias = "";
  const seen = await processes(() =>
    Promise.all([
      ip("a", ["link", "set", "dev", "v0", "alias", "lab #1"]),
      ipJson<{ ifalias?: string }>("a", ["link", "show", "dev", "v0"]).then(([l]) => (alias = l!.ifalias ?? "")),
    ]),
  );
  assert.equal(seen, [
    ["ip", "-n", "a", "link", "set", "dev", "v0", "alias", "lab #1"],
    ["ip", "-n", "a", "-j", "-force", "-batch", "-"],
  ]);
  assert.is(alias, "lab #1", "the read issued after it sees it");
});

test.run();
