import type { KindProvider } from "../lib/kind";
import { NslabError, shellQuote, withResource } from "../errors";
import { addAddr, addrOwner, delAddr, deviceAddrs, findAddr, setAddrOwner, withSameAddress, type AddrInfo, type AddrSpec, type FoundAddr } from "../driver/addr";
import { delRouteCommand, keyOfRoute, routeOwner, routesOverDevice, type RouteInfo } from "../driver/route";
import { readSysctl, writeSysctl } from "../driver/sysctl";
import { failedWith } from "../driver/exec";
import { ipArgv } from "../driver/ip";
import { where } from "../driver/link";
import { addressLabel } from "../driver/marks";
import { ifnameProblem, netnsNameProblem } from "../lib/names";
import { commonRules, identityProblem, required, rule, validate } from "../lib/check";
import { markedFor } from "../lib/conflicts";
import { broadcast, cidrProblem, formatIp, isLimitedBroadcast, isMulticast, isUnspecified, network, parseCidr } from "../lib/cidr";
import { planDiff, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { ownerHash, type Owner } from "../lib/owner";
import type { Host } from "../lib/host";

// Address: an IPv4 or IPv6 address with its prefix length on a device. Identity is (netns,
// device, address/prefix): every change replaces it, delete first. Its owner is recorded in
// /run/nslab before it is added (driver/addr.ts); an IPv4 address also carries a label
// `<device>:<owner hash prefix>` when the 15-byte label leaves room, which shows it in `ip addr`
// and makes a delete match only it. `ip addr add` (never replace) makes an existing address
// visible: it is taken only when our record predates the create (a create retried after a
// crash), otherwise create fails unless `adopt` is set.

export interface AddressInputs {
  device: string;
  /** Canonical CIDR, e.g. "10.0.0.1/24" or "2001:db8::1/64". */
  address: string;
  netns?: string;
  /** The link's incarnation when `device` was given as a resource: it changes when the link is re-created. */
  deviceIdentity?: string;
  /** The namespace's incarnation (Netns.incarnation) when `netns` was given as a Netns resource (refs.ts). */
  netnsIdentity?: string;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export interface AddressOutputs extends AddressInputs {
  /** IPv4: the label the address carries (ours, or the one an adopted address had); delete matches it. */
  label?: string;
}

const KIND = "Address";

const rules = [
  ...commonRules<AddressInputs>(),
  required<AddressInputs>("device", "the interface the address is added to"),
  rule<AddressInputs, "device">("device", ifnameProblem),
  required<AddressInputs>("address", `the address with its prefix length, e.g. "10.0.0.1/24" or "2001:db8::1/64"`),
  rule<AddressInputs, "address">("address", (v) => (typeof v === "string" ? cidrProblem(v) ?? addressProblem(v) : "use a string")),
  rule<AddressInputs, "netns">("netns", netnsNameProblem),
  rule<AddressInputs, "deviceIdentity">("deviceIdentity", identityProblem("device")),
];

/** Why a canonical CIDR cannot be an interface address (B11), or undefined. */
function addressProblem(text: string): string | undefined {
  const c = parseCidr(text)!;
  if (isUnspecified(c)) return `the unspecified address is not an interface address; use a unicast address`;
  if (isLimitedBroadcast(c)) return `the limited broadcast address is not an interface address; use a unicast address`;
  if (isMulticast(c)) return `it is a multicast address (${c.family === 4 ? "224.0.0.0/4" : "ff00::/8"}); an interface address must be unicast`;
  if (c.family === 4 && c.prefix <= 30) {
    if (c.value === network(c).value) return `it is the network address of ${formatIp(network(c))}/${c.prefix}; use a host address of the prefix (or /31, /32 for point-to-point)`;
    if (c.value === broadcast(c).value) return `it is the broadcast address of ${formatIp(network(c))}/${c.prefix}; use a host address of the prefix (or /31, /32 for point-to-point)`;
  }
  return undefined;
}

const DIFF: DiffSpec<AddressInputs> = DIFFS.Address;

const idOf = (i: AddressInputs) => `addr:${i.netns ?? "-"}/${i.device}/${i.address}`;

function specOf(i: AddressInputs): AddrSpec {
  return { netns: i.netns, device: i.device, cidr: i.address, family: parseCidr(i.address)!.family };
}

/** The label that marks this owner's IPv4 address, or undefined (IPv6, or no room in 15 bytes). */
function ourLabel(i: AddressInputs): string | undefined {
  return specOf(i).family === 4 ? addressLabel(i.device, ownerHash(i.owner)) : undefined;
}

export const address: KindProvider<AddressInputs, AddressOutputs> = {
  async check(_olds, news) {
    return { inputs: news, failures: validate(news, rules) };
  },

  async diff(_id, olds, news) {
    const d = planDiff(olds, news, DIFF);
    // A new owner means a new label, which the kernel cannot change in place (an adopted
    // address keeps the label it had).
    if (!d.changes && olds.label === ourLabel(olds) && ourLabel(news) !== ourLabel(olds)) {
      return { ...d, changes: true, replaces: ["owner"], deleteBeforeReplace: true };
    }
    return d;
  },

  async create(inputs) {
    const s = specOf(inputs);
    const hash = ownerHash(inputs.owner);
    const label = ourLabel(inputs);
    return withResource(KIND, inputs.owner, "create", async () => {
      const claimed = await addrOwner(s);
      // Another owner's address while it exists; a record of an address that is gone claims nothing.
      const held = claimed !== undefined && claimed !== hash ? await findAddr(s) : undefined;
      if (held && !inputs.adopt) throw foreign(inputs, held, claimed);
      // The claim comes before the address, so a crash right after the add still finds it ours.
      if (claimed !== hash) await setAddrOwner(s, hash);
      try {
        try {
          await addAddr(s, label);
          return { id: idOf(inputs), outs: { ...inputs, label: s.family === 4 ? (label ?? inputs.device) : undefined } };
        } catch (err) {
          if (failedWith(err, "NOT_FOUND")) throw missingDevice(inputs, err);
          if (failedWith(err, "NO_NETNS")) throw missingNetns(inputs, err);
          if (!failedWith(err, "ALREADY_EXISTS")) throw err;
        }
        const same = await withSameAddress(s);
        const found = same.find((f) => `${f.addr.local}/${f.addr.prefixlen}` === inputs.address);
        if (!found) throw otherPrefix(inputs, same[0]);
        // Ours when our record predates this create: a create retried after a crash.
        if (claimed !== hash && !inputs.adopt) throw foreign(inputs, found, undefined);
        return { id: idOf(inputs), outs: { ...inputs, label: found.addr.label } };
      } catch (err) {
        if (claimed !== hash) await setAddrOwner(s, claimed);
        throw err;
      }
    });
  },

  async read(id, props) {
    if (!props) return {};
    const s = specOf(props);
    if ((await addrOwner(s)) !== ownerHash(props.owner)) return {};
    const found = await findAddr(s);
    // Gone, or re-added by someone else under another label: not ours any more.
    if (!found || (props.label !== undefined && found.addr.label !== props.label)) return {};
    return { id, props };
  },

  async update(_id, olds, news) {
    // Every input change replaces; only `adopt` can change here, and it needs no kernel change.
    return { outs: { ...olds, ...news, label: olds.label } };
  },

  async delete(_id, props) {
    const s = specOf(props);
    return withResource(KIND, props.owner, "delete", async () => {
      // An address whose record names another owner (or none) is not ours any more: left alone.
      if ((await addrOwner(s)) !== ownerHash(props.owner)) return;
      const restore = s.family === 4 ? await keepWhatIsNotOurs(props) : undefined;
      try {
        await delAddr(s, props.label);
      } finally {
        await restore?.();
      }
      await setAddrOwner(s, undefined);
    });
  },
};

/**
 * What the kernel takes with an IPv4 address must be nslab's: deleting a primary address also
 * deletes the secondaries of its subnet, unless the device's promote_secondaries is set (then it
 * is set for the delete, and restored after); the kernel removes the routes whose source is the
 * address, and every route over the device once it has no IPv4 address left, so a route nslab did
 * not make among those refuses the delete. Returns what restores promote_secondaries, if it was set.
 */
async function keepWhatIsNotOurs(i: AddressOutputs): Promise<(() => Promise<unknown>) | undefined> {
  const addrs = await deviceAddrs(i.netns, i.device);
  const mine = addrs.find((a) => `${a.local}/${a.prefixlen}` === i.address);
  if (!mine) return undefined;
  const rest = addrs.filter((a) => a !== mine);
  const address = i.address.split("/")[0]!;
  const taken = [];
  for (const r of await routesOverDevice(i.netns, i.device)) {
    if (r.protocol === "2" || r.table === "255" || (rest.length && r.prefsrc !== address)) continue;
    if ((await routeOwner(keyOfRoute(i.netns, 4, r))) === undefined) taken.push(r);
  }
  if (taken.length) throw routesTaken(i, taken, rest.length === 0);
  const subnet = (a: AddrInfo) => `${formatIp(network(parseCidr(`${a.local}/${a.prefixlen}`)!))}/${a.prefixlen}`;
  if (mine.secondary || !rest.some((a) => a.secondary && subnet(a) === subnet(mine))) return undefined;
  const key = `net.ipv4.conf.${i.device.replace(/\./g, "/")}.promote_secondaries`;
  const before = await readSysctl(i.netns, key);
  if (before !== "0") return undefined;
  await writeSysctl(i.netns, key, "1");
  return () => writeSysctl(i.netns, key, before);
}

function routesTaken(i: AddressInputs, routes: RouteInfo[], last: boolean): NslabError {
  const keys = routes.map((r) => keyOfRoute(i.netns, 4, r));
  const listed = routes.map((r, n) => `"${r.dst}${r.gateway ? ` via ${r.gateway}` : ""} table ${keys[n]!.table}"`).join(", ");
  const why = last
    ? `it is the last IPv4 address of "${i.device}", and the kernel removes every route over a device that loses its last IPv4 address`
    : `the kernel removes the routes whose source (src) is the address`;
  return new NslabError(
    "CONFLICT",
    `${i.address} on "${i.device}" in ${where(i.netns)} cannot be deleted without deleting routes nslab did not make: ${listed} (${why}). ` +
      `Move or remove them first (${keys.map(delRouteCommand).join("; ")})${last ? `, or add another IPv4 address to "${i.device}"` : ""}, then retry.`,
  );
}

function delCommand(i: AddressInputs): string {
  return ipArgv(i.netns, ["addr", "del", i.address, "dev", i.device]).map(shellQuote).join(" ");
}

/** `owner`: the owner hash nslab's record gives the address (another resource's), or undefined when it has none. */
function foreign(i: AddressInputs, found: FoundAddr, owner: string | undefined): NslabError {
  const mark = found.addr.label && found.addr.label !== i.device ? ` (label "${found.addr.label}")` : "";
  // nslab's for another resource: never advise deleting what may be this stack's own.
  if (owner !== undefined) return new NslabError("CONFLICT", `${i.address} already exists on "${i.device}" in ${where(i.netns)}${mark}, ${markedFor(owner)}`);
  return new NslabError(
    "CONFLICT",
    `${i.address} already exists on "${i.device}" in ${where(i.netns)}${mark} and was not made by this resource (nslab has no record of making it). ` +
      `Remove it with: ${delCommand(i)}, or set adopt: true to take it over.`,
  );
}

/** IPv6 holds an address once per device, whatever the prefix length; or it vanished meanwhile. */
function otherPrefix(i: AddressInputs, other: FoundAddr | undefined): NslabError {
  if (!other) return new NslabError("COMMAND_FAILED", `${i.address} on "${i.device}" was reported to exist but is gone; retry`);
  const held = `${other.addr.local}/${other.addr.prefixlen}`;
  return new NslabError(
    "CONFLICT",
    `${i.address} cannot be added to "${i.device}" in ${where(i.netns)}: the device already holds ${held}, and an IPv6 address can be on a device only once. ` +
      `Use the prefix length ${other.addr.prefixlen}, or remove it with: ${delCommand({ ...i, address: held })}`,
  );
}

function missingDevice(i: AddressInputs, cause: unknown): NslabError {
  return new NslabError(
    "NOT_FOUND",
    `device "${i.device}" does not exist in ${where(i.netns)}. Pass the VethPair or Bridge resource itself as device ` +
      `(or \`vethPair.peer\` for its second end), which creates the address after the link; or add dependsOn: [<the resource that makes "${i.device}">]\n${messageOf(cause)}`,
    { cause },
  );
}

function missingNetns(i: AddressInputs, cause: unknown): NslabError {
  return new NslabError(
    "NO_NETNS",
    `namespace "${i.netns}" does not exist. Pass the Netns resource itself as netns (or a link resource that lives in it as device), ` +
      `which creates the address after the namespace; or add dependsOn: [<the Netns resource>]\n${messageOf(cause)}`,
    { cause },
  );
}

function messageOf(err: unknown): string {
  return String((err as Error).message ?? err);
}
