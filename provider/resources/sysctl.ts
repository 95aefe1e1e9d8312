import type { KindProvider } from "../lib/kind";
import { withResource } from "../errors";
import { ifnameProblem, netnsNameProblem } from "../lib/names";
import { heldSysctl, holdSysctl, normalizeValue, releaseSysctl, type Holder } from "../driver/sysctl";
import { commonRules, identityProblem, isUnknown, required, rule, validate } from "../lib/check";
import { changedKeys, planDiff, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { ownerHash, type Owner } from "../lib/owner";
import type { Host } from "../lib/host";

// Sysctl: one kernel parameter held at a value while the resource exists. The kernel has no mark
// for a sysctl: the holder registry of driver/sysctl.ts is the record of whose it is, and the
// last holder to leave restores the value from before the first.

export interface SysctlInputs {
  key: string;
  value: string | number;
  netns?: string;
  /** The namespace's incarnation (Netns.incarnation) when `netns` was given as a Netns resource (refs.ts). */
  netnsIdentity?: string;
  /** The incarnation of the link a per-interface key names, when the program declares it (sdk/internal/refs.ts). */
  deviceIdentity?: string;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export interface SysctlOutputs extends SysctlInputs {
  /** The value before the first holder, as the kernel printed it. */
  previous: string;
}

const KIND = "Sysctl";

/** A path segment of a key; an interface-name segment may also hold "/" (a "." in the name). */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
/** Keys of the form net.<family>.{conf,neigh}.<interface>.<name>. */
const PER_INTERFACE = new Set(["conf", "neigh"]);

/** Why `key` is not a usable sysctl key, or undefined when it is. */
function keyProblem(key: string): string | undefined {
  const example = `a dotted path such as "net.ipv4.ip_forward"`;
  if (Buffer.byteLength(key) > 255) return `it is ${Buffer.byteLength(key)} bytes long; use at most 255 bytes`;
  if (!key.includes(".") && key.includes("/")) return `write it dotted, as sysctl(8) does: "${key.replace(/\//g, ".")}"`;
  const segments = key.split(".");
  if (segments.length < 2 || segments.includes("")) return `use ${example}, with no empty segment ("..", or a leading or trailing ".")`;
  const perInterface = segments[0] === "net" && PER_INTERFACE.has(segments[2] ?? "");
  if (perInterface && segments.length !== 5) {
    return `per-interface keys have the form net.${segments[1]}.${segments[2]}.<interface>.<name>; write a "." inside an interface name as "/" (net.${segments[1]}.${segments[2]}.eth0/100.forwarding)`;
  }
  for (const [i, segment] of segments.entries()) {
    if (perInterface && i === 3) {
      const ifname = segment.replace(/\//g, ".");
      if (ifname === "all" || ifname === "default") continue;
      const problem = ifnameProblem(ifname);
      if (problem) return `interface name "${ifname}" is not valid: ${problem}`;
      continue;
    }
    if (segment.includes("/")) {
      return `"/" is allowed only in the interface segment of net.<family>.conf.<interface>.<name> and net.<family>.neigh.<interface>.<name> keys, where it stands for a "." in the interface name`;
    }
    if (!SEGMENT.test(segment)) return `segment "${segment}" may contain only A-Z a-z 0-9 _ - (not starting with "-"); use ${example}`;
  }
  return undefined;
}

function valueProblem(value: string | number): string | undefined {
  const allowed = `use a string or an integer, e.g. 1 or "4096 131072 6291456"`;
  if (typeof value === "number") return Number.isSafeInteger(value) ? undefined : `it is not an integer; ${allowed}`;
  if (typeof value !== "string") return allowed;
  if (normalizeValue(value) === "") return `it is blank; ${allowed}`;
  // Tabs separate fields (as the kernel prints them); any other control character, a newline included, is refused.
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return `it contains a newline or control character; a sysctl value is one line`;
  // Values are numbers, words and paths. Shell characters are refused (a value with them is most
  // likely a command pasted by mistake); this leaves out kernel.core_pattern's "|program" form.
  const odd = /[;&|$`'"\\<>(){}*?!#]/.exec(value);
  if (odd) return `it contains "${odd[0]}"; a sysctl value is numbers or words separated by spaces (A-Z a-z 0-9 and . , : / _ - + = @ %)`;
  return undefined;
}

const rules = [
  ...commonRules<SysctlInputs>(),
  required<SysctlInputs>("key", `the sysctl's dotted name, e.g. "net.ipv4.ip_forward"`),
  rule<SysctlInputs, "key">("key", (v) => (typeof v === "string" ? keyProblem(v) : `use a string such as "net.ipv4.ip_forward"`)),
  rule<SysctlInputs, "key">("key", (v, inputs) =>
    inputs.netns !== undefined && !v.startsWith("net.")
      ? `inside a namespace only per-namespace keys (net.*) can be set; "${v}" is host-wide: set it without netns (in the host namespace), or use a net.* key`
      : undefined,
  ),
  required<SysctlInputs>("value", `the value to hold, e.g. 1`),
  rule<SysctlInputs, "value">("value", valueProblem),
  rule<SysctlInputs, "netns">("netns", netnsNameProblem),
  rule<SysctlInputs, "deviceIdentity">("deviceIdentity", identityProblem("the link the key names")),
];

const idOf = (netns: string | undefined, key: string) => `sysctl:${netns ?? "-"}/${key}`;

/** The namespace and key of an id (a namespace name has no "/"; a key may). */
function parseId(id: string): { netns: string | undefined; key: string } {
  const rest = id.replace(/^sysctl:/, "");
  const slash = rest.indexOf("/");
  const ns = rest.slice(0, slash);
  return { netns: ns === "-" ? undefined : ns, key: rest.slice(slash + 1) };
}

function holder(owner: Owner): Holder {
  return { hash: ownerHash(owner), name: `Sysctl "${owner.path.join("/")}" of stack ${owner.project}/${owner.stack}` };
}

/** Inputs with `value` as the kernel prints it, so 1 and "1" (or "a  b" and "a\tb") never differ. */
function comparable(inputs: Partial<SysctlInputs>): Partial<SysctlInputs> {
  const { value } = inputs;
  return { ...inputs, value: value === undefined || isUnknown(value) ? value : normalizeValue(value) };
}

const DIFF: DiffSpec<Partial<SysctlInputs>> = DIFFS.Sysctl;

export const sysctl: KindProvider<SysctlInputs, SysctlOutputs> = {
  async check(_olds, news) {
    return { inputs: news, failures: validate(news, rules) };
  },

  async diff(_id, olds, news) {
    return planDiff(comparable(olds), comparable(news), DIFF);
  },

  async create(inputs) {
    return withResource(KIND, inputs.owner, "create", async () => {
      const { previous } = await holdSysctl(inputs.netns, inputs.key, inputs.value, holder(inputs.owner), { adopt: inputs.adopt === true });
      return { id: idOf(inputs.netns, inputs.key), outs: { ...inputs, previous } };
    });
  },

  async read(id, props) {
    if (!props) return {};
    const { netns, key } = parseId(id);
    const held = await heldSysctl(netns, key, ownerHash(props.owner));
    if (!held) return {};
    // Drift shows the kernel's value; an equal value keeps the program's form (1, not "1").
    const value = held.current === normalizeValue(props.value) ? props.value : held.current;
    return { id, props: { ...props, value, previous: held.previous } };
  },

  async update(id, olds, news) {
    if (changedKeys(comparable(olds), comparable(news), DIFF.update).length === 0) return { outs: { ...olds, ...news } };
    return withResource(KIND, news.owner, "update", async () => {
      const { netns, key } = parseId(id);
      const { previous } = await holdSysctl(netns, key, news.value, holder(news.owner), { replacing: ownerHash(olds.owner) });
      return { outs: { ...olds, ...news, previous } };
    });
  },

  async delete(id, props) {
    const { netns, key } = parseId(id);
    return withResource(KIND, props.owner, "delete", async () => {
      await releaseSysctl(netns, key, ownerHash(props.owner));
    });
  },
};
