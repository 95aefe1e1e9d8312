import type { KindProvider } from "../lib/kind";
import { NslabError, shellQuote, withResource } from "../errors";
import { addAddr, delAddr, findAddr, withSameAddress, type AddrSpec, type FoundAddr } from "../driver/addr";
import { failedWith } from "../driver/exec";
import { ipArgv } from "../driver/ip";
import { where } from "../driver/link";
import { addressLabel } from "../driver/marks";
import { ifnameProblem, netnsNameProblem } from "../lib/names";
import { commonRules, identityProblem, required, rule, validate } from "../lib/check";
import { broadcast, cidrProblem, formatIp, isLimitedBroadcast, isMulticast, isUnspecified, network, parseCidr } from "../lib/cidr";
import { planDiff, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { ownerHash, type Owner } from "../lib/owner";

// Address: an IPv4 or IPv6 address with its prefix length on a device. Identity is (netns,
// device, address/prefix): every change replaces it, delete first. An IPv4 address is marked
// with a label `<device>:<owner hash prefix>` when the 15-byte label leaves room; an IPv6
// address cannot be marked, so there the state is the only record. `ip addr add` (never
// replace) makes an existing address visible: it is adopted only when it carries our own label
// (a create retried after a crash), otherwise create fails unless `adopt` is set.

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
    const label = ourLabel(inputs);
    return withResource(KIND, inputs.owner, "create", async () => {
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
      const ours = label !== undefined && found.addr.label === label;
      if (!ours && !inputs.adopt) throw foreign(inputs, found);
      return { id: idOf(inputs), outs: { ...inputs, label: found.addr.label } };
    });
  },

  async read(id, props) {
    if (!props) return {};
    const found = await findAddr(specOf(props));
    // Gone, or re-added by someone else under another label: not ours any more.
    if (!found || (props.label !== undefined && found.addr.label !== props.label)) return {};
    return { id, props };
  },

  async update(_id, olds, news) {
    // Every input change replaces; only `adopt` can change here, and it needs no kernel change.
    return { outs: { ...olds, ...news, label: olds.label } };
  },

  async delete(_id, props) {
    return withResource(KIND, props.owner, "delete", async () => {
      await delAddr(specOf(props), props.label);
    });
  },
};

function delCommand(i: AddressInputs): string {
  return ipArgv(i.netns, ["addr", "del", i.address, "dev", i.device]).map(shellQuote).join(" ");
}

function foreign(i: AddressInputs, found: FoundAddr): NslabError {
  const mark = found.addr.label && found.addr.label !== i.device ? ` (label "${found.addr.label}")` : "";
  const why = specOf(i).family === 6 ? "IPv6 addresses carry no mark, so nslab cannot tell whether it made it" : ourLabel(i) === undefined ? `the device name leaves no room in the 15-byte label for nslab's mark` : `it does not carry this resource's label "${ourLabel(i)}"`;
  return new NslabError(
    "CONFLICT",
    `${i.address} already exists on "${i.device}" in ${where(i.netns)}${mark} and was not made by this resource (${why}). ` +
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
