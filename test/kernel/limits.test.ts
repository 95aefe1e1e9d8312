import * as fs from "node:fs";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { providers } from "../../provider";
import { exec } from "../../provider/driver/exec";
import { pidNamespace, withHostLock } from "../../provider/driver/lock";
import { RUN_DIR } from "../../provider/driver/runstate";
import { checked, created, failures, owner, rejects, sh } from "../helpers/kernel";

// Records, locks and command files that cannot be jammed or misdirected: spawner directories of
// another PID namespace, lock files that name no live holder, a namespace name as long as a file
// name, and a Sysctl value that reads as a shell command.

const test = suite("limits");

// Made before this process starts its spawner (at its first command), which removes orphans.
const shm = fs.existsSync("/dev/shm") ? "/dev/shm" : "/tmp";
const DEAD = 999999999;
const otherNs = path.join(shm, `nslab-ns${Number(pidNamespace()) + 1}-${DEAD}-limits`);
const ownNs = path.join(shm, `nslab-ns${pidNamespace()}-${DEAD}-limits`);
fs.mkdirSync(otherNs);
fs.mkdirSync(ownNs);

test("a spawner removes dead spawners' directories of its own PID namespace only (T17)", async () => {
  await exec(["true"]);
  assert.ok(fs.existsSync(otherNs), "another PID namespace's directory is kept: its pid means nothing here");
  assert.not.ok(fs.existsSync(ownNs), "a dead spawner's directory of this namespace is removed");
  fs.rmSync(otherNs, { recursive: true, force: true });
});

test("a host lock file that is empty, garbage, or names a live unrelated process does not block (T12)", async () => {
  const dir = path.join(RUN_DIR, "locks");
  fs.mkdirSync(dir, { recursive: true });
  for (const record of ["", "garbage\n", "1\n", `1 1 ${pidNamespace()}\n`]) {
    fs.writeFileSync(path.join(dir, "limits-test"), record);
    assert.is(await withHostLock("limits-test", async () => fs.readFileSync(path.join(dir, "limits-test"), "utf8").split(" ")[0]), String(process.pid), JSON.stringify(record));
    assert.not.ok(fs.existsSync(path.join(dir, "limits-test")));
  }
});

test("a namespace name of 255 bytes works for every kind that records or locks by it (T15)", async () => {
  const name = "n".repeat(255);
  const ns = await created(providers.Netns, await checked(providers.Netns, { name, owner: owner("long-ns") }));
  const pair = await created(providers.VethPair, await checked(providers.VethPair, { name: "long-host", peerName: "long-in", peerNetns: name, owner: owner("long-veth") }));
  const addr = await created(providers.Address, await checked(providers.Address, { device: "long-in", netns: name, address: "10.76.0.1/24", owner: owner("long-addr") }));
  const fw = await created(providers.FirewallRule, await checked(providers.FirewallRule, { netns: name, action: "drop", protocol: "tcp", destinationPort: 23, owner: owner("long-fw") }));
  const sysctl = await created(providers.Sysctl, await checked(providers.Sysctl, { netns: name, key: "net.ipv4.ip_forward", value: 1, owner: owner("long-sysctl") }));
  for (const [p, r] of [[providers.Sysctl, sysctl], [providers.FirewallRule, fw], [providers.Address, addr], [providers.VethPair, pair], [providers.Netns, ns]] as const) {
    await (p.delete as (id: string, props: unknown) => Promise<void>)(r.id, r.outs);
  }
  assert.is(sh("ip", "netns", "list"), "");
});

test("a Sysctl value with shell characters is refused at check; equivalents are shell-quoted (T15)", async () => {
  const reasons = await failures(providers.Sysctl, { key: "net.ipv4.ip_forward", value: "1;touch /tmp/x", owner: owner("bad-value") });
  assert.is(reasons.length, 1);
  assert.match(reasons[0]!, `value "1;touch /tmp/x" is not valid: it contains ";"; a sysctl value is numbers or words separated by spaces`);
  const inputs = await checked(providers.Sysctl, { key: "net.ipv4.ip_forward", value: "a b", owner: owner("two-words") });
  await rejects(providers.Sysctl.create(inputs), /equivalent to: sysctl -w 'net\.ipv4\.ip_forward=a b'/);
  assert.is(sh("sysctl", "-n", "net.ipv4.ip_forward").trim(), "0");
});

test.run();
