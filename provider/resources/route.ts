import type { KindProvider } from "../lib/kind";
import { CommandError, NslabError, withResource } from "../errors";
import { listAddrs } from "../driver/addr";
import { failedWith } from "../driver/exec";
import { where } from "../driver/link";
import { ifnameProblem, netnsNameProblem } from "../lib/names";
import { addRoute, defaultMetric, delRoute, delRouteCommand, findRoutes, isOurRoute, MAIN_TABLE, replaceRoute, routeOwner, setRouteOwner, type RouteInfo, type RouteSpec } from "../driver/route";
import { commonRules, identityProblem, intInRange, isUnknown, known, rule, ruleUnset, validate } from "../lib/check";
import { cidrProblem, contains, familyOf, formatCidr, hasHostBits, ipProblem, isLimitedBroadcast, isLinkLocal, isMulticast, isUnspecified, networkCidr, parseCidr, parseIp, type Family } from "../lib/cidr";
import { planDiff, type DiffSpec } from "../lib/diff";
import { DIFFS } from "../lib/diffs";
import { ownerHash, type Owner } from "../lib/owner";
import type { Host } from "../lib/host";

// Route: a unicast route marked `proto ROUTE_PROTO`, its owner recorded in /run/nslab before it is
// added (driver/route.ts). Identity is (netns, family, destination, table, metric): a change
// replaces it, delete first. The next hop (`via`, `device`) changes in place with `ip route
// replace`. Create uses `ip route add` so an existing route of the same identity is noticed: one
// recorded as ours is taken (a create retried after a crash), any other fails unless `adopt` is
// set. Read and delete act only on a route recorded as ours; one changed by hand is still ours.
//
// `table` is "main" or a number: 1-252 or 256-4294967295. 254 must be written "main" (one
// spelling per identity), 253 ("default") and 255 ("local", the kernel's local and broadcast
// routes) are refused, and other names are refused because /etc/iproute2/rt_tables differs
// between hosts (B21).

export interface RouteInputs {
  /** "default", or a canonical CIDR without host bits. */
  destination: string;
  /** Gateway address (canonical, no prefix). */
  via?: string;
  device?: string;
  netns?: string;
  /** Unset: the kernel's default (0 for IPv4, 1024 for IPv6). */
  metric?: number;
  table: number | "main";
  /** The link's incarnation when `device` was given as a resource: the route follows a re-created link. */
  deviceIdentity?: string;
  /** The namespace's incarnation (Netns.incarnation) when `netns` was given as a Netns resource (refs.ts). */
  netnsIdentity?: string;
  /** The incarnations of the Addresses the route relies on (sdk/internal/refs.ts): it is re-installed when one is re-created. */
  addressIdentity?: string;
  owner: Owner;
  /** The lab host the object is on (lib/host.ts); unset: the provider's machine. */
  host?: Host;
  adopt?: boolean;
}

export type RouteOutputs = RouteInputs;

const KIND = "Route";
const MAX_U32 = 4294967295;

const rules = [
  ...commonRules<RouteInputs>(),
  ruleUnset<RouteInputs, "destination">("destination", (v) => (v === undefined || v === "" ? `it is required: "default" or a CIDR, e.g. "10.1.0.0/16"` : undefined)),
  rule<RouteInputs, "destination">("destination", destinationProblem),
  ruleUnset<RouteInputs, "via">("via", (v, i) => (v === undefined && i.device === undefined ? "give via (the gateway's address), device (the interface), or both" : undefined)),
  rule<RouteInputs, "via">("via", viaProblem),
  rule<RouteInputs, "device">("device", ifnameProblem),
  rule<RouteInputs, "netns">("netns", netnsNameProblem),
  rule<RouteInputs, "metric">("metric", intInRange(0, MAX_U32)),
  rule<RouteInputs, "table">("table", tableProblem),
  rule<RouteInputs, "deviceIdentity">("deviceIdentity", identityProblem("device")),
  rule<RouteInputs, "addressIdentity">("addressIdentity", identityProblem("an Address the route relies on")),
];

function destinationProblem(v: string): string | undefined {
  if (typeof v !== "string") return `use "default" or a CIDR`;
  if (v === "default") return undefined;
  if (v === "0.0.0.0/0") return `write "default" (the IPv4 default route; "::/0" is the IPv6 one)`;
  const problem = cidrProblem(v);
  if (problem) return `use "default" or a CIDR; ${problem}`;
  const c = parseCidr(v)!;
  if (hasHostBits(c)) return `it has host bits set beyond the /${c.prefix} prefix; a destination is a network: write "${formatCidr(networkCidr(c))}"`;
  return undefined;
}

function viaProblem(v: string, i: RouteInputs): string | undefined {
  if (typeof v !== "string") return "use a gateway address";
  const problem = ipProblem(v);
  if (problem) return problem;
  const gw = parseIp(v)!;
  if (isUnspecified(gw) || isMulticast(gw) || isLimitedBroadcast(gw)) return "a gateway must be a unicast address";
  const dest = known(i.destination) && i.destination !== "default" ? familyOf(i.destination) : undefined;
  if (dest && dest !== gw.family) return `it is an IPv${gw.family} address but destination ${i.destination} is IPv${dest}; use an IPv${dest} gateway`;
  if (gw.family === 6 && isLinkLocal(gw) && i.device === undefined) return "a link-local gateway is only reachable through an interface: set device too";
  return undefined;
}

function tableProblem(v: number | "main"): string | undefined {
  const allowed = `use "main" or a table number from 1 to 252 or 256 to ${MAX_U32}`;
  if (v === "main") return undefined;
  if (typeof v !== "number") return `${allowed}; table names other than "main" are refused because /etc/iproute2/rt_tables differs between hosts`;
  if (v === MAIN_TABLE) return `254 is the main table: write "main"`;
  if (v === 253 || v === 255) return `table ${v} ("${v === 253 ? "default" : "local"}") is reserved${v === 255 ? " for the kernel's local and broadcast routes" : ""}; ${allowed}`;
  return Number.isInteger(v) && v >= 1 && v <= MAX_U32 ? undefined : allowed;
}

/** The route's family: the destination's, or for "default" the gateway's (IPv4 without one). */
function familyOfRoute(i: Pick<RouteInputs, "destination" | "via">): Family {
  if (i.destination !== "default") return familyOf(i.destination) ?? 4;
  return (i.via !== undefined && familyOf(i.via)) || 4;
}

function specOf(i: RouteInputs): RouteSpec {
  const family = familyOfRoute(i);
  const destination = i.destination !== "default" ? i.destination : family === 4 ? "0.0.0.0/0" : "::/0";
  const s: RouteSpec = {
    netns: i.netns,
    family,
    destination,
    table: i.table === "main" || i.table === undefined ? MAIN_TABLE : i.table,
    metric: i.metric ?? defaultMetric(family),
  };
  if (i.via !== undefined) s.via = i.via;
  if (i.device !== undefined) s.device = i.device;
  return s;
}

/**
 * What replaces and what changes in place: the diff below (which also handles `via`: in place, but a
 * gateway of another family replaces the route), and `replaceOnChanges` in schema.json.
 */
const DIFF: DiffSpec<RouteInputs> = DIFFS.Route;

const idOf = (i: RouteInputs) => {
  const dest = i.destination === "default" && familyOfRoute(i) === 6 ? "::/0" : i.destination;
  return `route:${i.netns ?? "-"}/${i.table}/${dest}/${i.metric ?? "default"}`;
};

export const route: KindProvider<RouteInputs, RouteOutputs> = {
  async check(_olds, news) {
    const inputs = { ...news, table: news.table ?? "main" };
    return { inputs, failures: validate(inputs, rules) };
  },

  async diff(_id, olds, news) {
    const d = planDiff(olds, news, DIFF);
    // The gateway is always managed: no `via` means a route without one.
    const viaChanged = isUnknown(news.via) || (news.via ?? null) !== (olds.via ?? null);
    // A default route's family follows its gateway: another family is another route.
    const familyChanged = isUnknown(news.via) ? news.destination === "default" : familyOfRoute(olds) !== familyOfRoute(news);
    if (viaChanged && familyChanged) return { ...d, changes: true, replaces: [...(d.replaces ?? []), "via"], deleteBeforeReplace: true };
    return viaChanged ? { ...d, changes: true } : d;
  },

  async create(inputs) {
    const s = specOf(inputs);
    const hash = ownerHash(inputs.owner);
    return withResource(KIND, inputs.owner, "create", async () => {
      const claimed = await routeOwner(s);
      // Another owner's route while it exists; a record of a route that is gone claims nothing.
      const existing = claimed !== undefined && claimed !== hash ? await findRoutes(s) : [];
      if (existing.length && !inputs.adopt) throw foreign(inputs, s, existing[0], true);
      // The claim comes before the route, so a crash right after the add still finds it ours.
      if (claimed !== hash) await setRouteOwner(s, hash);
      try {
        try {
          await addRoute(s);
          return { id: idOf(inputs), outs: inputs };
        } catch (err) {
          if (!failedWith(err, "ALREADY_EXISTS")) throw await explain(inputs, err);
        }
        // Ours when our record predates this create (a create retried after a crash, or our route changed by hand).
        if (claimed !== hash && !inputs.adopt) throw foreign(inputs, s, (await findRoutes(s))[0], false);
        await replaceRoute(s).catch(async (err) => {
          throw await explain(inputs, err);
        });
        return { id: idOf(inputs), outs: inputs };
      } catch (err) {
        if (claimed !== hash) await setRouteOwner(s, claimed);
        throw err;
      }
    });
  },

  async read(id, props) {
    if (!props) return {};
    const s = specOf(props);
    if ((await routeOwner(s)) !== ownerHash(props.owner)) return {};
    const routes = await findRoutes(s);
    // Ours is the marked one, else the one changed by hand (`ip route change` marks it proto boot): drift to repair.
    const ours = routes.find(isOurRoute) ?? routes[0];
    if (!ours) return {};
    const { via: _v, device: _d, ...rest } = props;
    // The device is reported only when declared: without one the kernel picks it from the gateway.
    return { id, props: { ...rest, ...(ours.gateway ? { via: ours.gateway } : {}), ...(ours.dev && props.device !== undefined ? { device: ours.dev } : {}) } };
  },

  async update(_id, _olds, news) {
    await withResource(KIND, news.owner, "update", async () => {
      await replaceRoute(specOf(news)).catch(async (err) => {
        throw await explain(news, err);
      });
    });
    return { outs: news };
  },

  async delete(_id, props) {
    const s = specOf(props);
    return withResource(KIND, props.owner, "delete", async () => {
      // A route whose record names another owner (or none) is not ours any more: left alone.
      if ((await routeOwner(s)) !== ownerHash(props.owner)) return;
      await delRoute(s);
      await setRouteOwner(s, undefined);
    });
  },
};

function foreign(i: RouteInputs, s: RouteSpec, found: RouteInfo | undefined, nslab: boolean): NslabError {
  const what = found
    ? `${found.gateway ? `via ${found.gateway} ` : ""}${found.dev ? `dev ${found.dev} ` : ""}proto ${found.protocol ?? "boot"}`.trim()
    : "of another type";
  const who = nslab ? "was made by another nslab resource or stack" : "was not made by nslab for this resource (nslab has no record of making it)";
  return new NslabError(
    "CONFLICT",
    `a route to ${i.destination} (table ${i.table}, metric ${s.metric}) already exists in ${where(i.netns)} (${what}) and ${who}. ` +
      `${nslab ? "Remove that resource, or remove the route" : "Remove it"} with: ${delRouteCommand(s)}, or set adopt: true to take it over.`,
  );
}

/**
 * Turns the kernel's answer to a route that cannot be installed into what is missing and how to
 * order the resources so that it is not (docs/design.md, "Validate before touching the kernel"); other errors pass unchanged.
 */
async function explain(i: RouteInputs, err: unknown): Promise<unknown> {
  if (!(err instanceof CommandError)) return err;
  const ns = where(i.netns);
  const dependsOn = (what: string) =>
    `If ${what} is made by an nslab resource, pass that resource (or add it to this Route's dependsOn: [<the resource>]) so that the route is created after it.`;
  const text = (why: string) => new NslabError(err.code, `${why}\n${err.message}`, { cause: err });
  if (failedWith(err, "NO_NETNS")) return text(`namespace "${i.netns}" does not exist. ${dependsOn("the namespace")}`);
  if (failedWith(err, "NOT_FOUND") && /Cannot find device/.test(err.stderr)) {
    return text(`device "${i.device}" does not exist in ${ns}. ${dependsOn(`"${i.device}"`)}`);
  }
  if (/Nexthop device is not up|Device for nexthop is not up/.test(err.stderr)) {
    return text(`device "${i.device}" is down in ${ns}; a route can only use an interface that is up. Set up: true on the VethPair or Bridge that makes it. ${dependsOn(`"${i.device}"`)}`);
  }
  if (i.via && /Nexthop has invalid gateway|No route to host/.test(err.stderr)) return text(`gateway ${i.via} is not reachable directly: ${await onLinkProblem(i)}`);
  return err;
}

/** What is missing for the gateway to be on-link, and how to order the resources so that it is not. */
async function onLinkProblem(i: RouteInputs): Promise<string> {
  const gw = parseIp(i.via!)!;
  const ns = where(i.netns);
  const links = await listAddrs(i.netns).catch(() => []);
  const covering = links.filter((l) => (i.device === undefined || l.ifname === i.device) && l.addr_info.some((a) => a.local && contains({ ...parseIp(a.local)!, prefix: a.prefixlen }, gw)));
  const down = covering.find((l) => !l.flags.includes("UP"));
  const order = `add it to this Route's dependsOn: [<that Address>] so that the route is created after it.`;
  if (down) return `the address covering it is on "${down.ifname}", which is down. Set up: true on the VethPair or Bridge that makes it.`;
  if (covering.length) return `the address covering it on "${covering[0]!.ifname}" was not there yet when the route was added: ${order}`;
  return `no address in ${ns}${i.device ? ` on "${i.device}"` : ""} covers it. Add an Address in ${ns} whose prefix covers ${i.via}, and ${order}`;
}
