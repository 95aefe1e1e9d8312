import { suite } from "uvu";
import * as assert from "uvu/assert";
import { providers } from "../../provider";
import { checked, created, owner, rejects, sh } from "../helpers/kernel";

// Nothing foreign destroyed through the kernel: what the kernel deletes along with an nslab
// object (secondary addresses with their primary, routes with a device's last IPv4 address) is
// kept, or the delete is refused naming it.

const test = suite("cascade");
const { Address: address } = providers;

test.before(() => {
  sh("ip", "link", "add", "name", "c6", "type", "veth", "peer", "name", "c6-peer");
  sh("ip", "link", "set", "dev", "c6", "up");
});

test.after(() => {
  sh("ip", "link", "del", "dev", "c6");
});

test("deleting an Address keeps a hand-made secondary and the routes through it; promote_secondaries is restored (T6)", async () => {
  for (const adopt of [false, true]) {
    if (adopt) sh("ip", "addr", "add", "10.64.0.1/24", "dev", "c6");
    const { id, outs } = await created(address, await checked(address, { device: "c6", address: "10.64.0.1/24", owner: owner("c6-addr"), adopt }));
    sh("ip", "addr", "add", "10.64.0.9/24", "dev", "c6");
    sh("ip", "route", "add", "10.65.0.0/16", "via", "10.64.0.254");
    sh("ip", "route", "add", "10.66.0.0/16", "dev", "c6", "table", "100");
    await address.delete(id, outs);
    assert.match(sh("ip", "-4", "addr", "show", "dev", "c6"), /inet 10\.64\.0\.9\/24/, "the secondary was promoted, not deleted");
    assert.not.match(sh("ip", "-4", "addr", "show", "dev", "c6"), /10\.64\.0\.1\//);
    assert.match(sh("ip", "route", "show", "10.65.0.0/16"), /via 10\.64\.0\.254/);
    assert.match(sh("ip", "route", "show", "table", "100"), /10\.66\.0\.0\/16 dev c6/);
    assert.is(sh("sysctl", "-n", "net.ipv4.conf.c6.promote_secondaries").trim(), "0");
    sh("ip", "addr", "flush", "dev", "c6");
    sh("ip", "route", "flush", "table", "100");
  }
});

test("deleting a device's last IPv4 address is refused while routes nslab did not make go over it (T6)", async () => {
  const { id, outs } = await created(address, await checked(address, { device: "c6", address: "10.67.0.1/24", owner: owner("c6-last") }));
  sh("ip", "route", "add", "10.68.0.0/16", "via", "10.67.0.254", "table", "100");
  await rejects(address.delete(id, outs), /cannot be deleted without deleting routes nslab did not make: "10\.68\.0\.0\/16 via 10\.67\.0\.254 table 100" \(it is the last IPv4 address of "c6"/);
  assert.match(sh("ip", "-4", "addr", "show", "dev", "c6"), /10\.67\.0\.1\/24/);
  assert.match(sh("ip", "route", "show", "table", "100"), /10\.68\.0\.0\/16/);
  sh("ip", "route", "del", "10.68.0.0/16", "table", "100");
  // nslab's own routes over the device do not hold it back.
  const r = await created(providers.Route, await checked(providers.Route, { destination: "10.69.0.0/16", via: "10.67.0.254", owner: owner("c6-route") }));
  await address.delete(id, outs);
  assert.not.match(sh("ip", "-4", "addr", "show", "dev", "c6"), /10\.67\.0\.1/);
  await providers.Route.delete(r.id, r.outs);
});

test("a pre-existing chain named NSLAB-FORWARD is neither written to nor deleted (T7)", async () => {
  sh("iptables", "-N", "NSLAB-FORWARD");
  sh("iptables", "-A", "NSLAB-FORWARD", "-s", "10.77.0.1/32", "-j", "ACCEPT");
  sh("iptables", "-A", "FORWARD", "-j", "NSLAB-FORWARD");
  const before = sh("iptables", "-S");
  const inputs = await checked(providers.FirewallRule, { action: "accept", protocol: "tcp", destinationPort: 80, owner: owner("c7-fw") });
  await rejects(providers.FirewallRule.create(inputs), /chain NSLAB-FORWARD \(table filter\) of the host namespace exists and was not made by nslab: .* holds the rule "-s 10\.77\.0\.1\/32 -j ACCEPT"/);
  await providers.FirewallRule.delete(`firewallrule:-/x`, { ...inputs, comment: "" });
  assert.is(sh("iptables", "-S"), before);
  sh("iptables", "-F", "FORWARD");
  sh("iptables", "-F", "NSLAB-FORWARD");
  sh("iptables", "-X", "NSLAB-FORWARD");
});

test("a foreign rule inserted into nslab's chain reads as drift, and create repairs the chain (T8)", async () => {
  const { id, outs } = await created(providers.FirewallRule, await checked(providers.FirewallRule, { action: "accept", protocol: "tcp", destinationPort: 80, owner: owner("c8-fw") }));
  assert.equal(await providers.FirewallRule.read(id, outs), { id, props: outs });
  sh("iptables", "-I", "NSLAB-FORWARD", "1", "-j", "DROP");
  assert.equal(await providers.FirewallRule.read(id, outs), {}, "refresh sees the chain changed");
  await providers.FirewallRule.create(outs);
  assert.not.match(sh("iptables", "-S", "NSLAB-FORWARD"), /-A NSLAB-FORWARD -j DROP/);
  assert.equal(await providers.FirewallRule.read(id, outs), { id, props: outs });
  await providers.FirewallRule.delete(id, outs);
});

test.run();
