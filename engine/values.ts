import { isDeepStrictEqual } from "node:util";

// Pulumi property values as they travel on the wire (gRPC Structs) and as they are stored in
// state (docs/engine.md, "Values on the wire and in state"): the unknown sentinel, secrets, and the comparisons the
// engine makes on them.

export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };
export type Props = Record<string, Value>;

/** The wire form of an unknown value (preview only, never stored): the one providers see in check and diff. */
export { UNKNOWN } from "../provider/lib/check";
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** The key under which a dynamic resource carries its serialized provider code. */
export const PROVIDER_KEY = "__provider";

function isObject(v: unknown): v is { [key: string]: Value } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isWireSecret(v: unknown): v is { value: Value } {
  return isObject(v) && v[SIG] === SECRET_SIG && "value" in v;
}

function secret(value: Value): Value {
  return { [SIG]: SECRET_SIG, value };
}

/** Does `v` hold a secret anywhere inside? */
function hasSecret(v: unknown): boolean {
  if (isWireSecret(v)) return true;
  if (Array.isArray(v)) return v.some(hasSecret);
  return isObject(v) && Object.values(v).some(hasSecret);
}

/** `v` with every secret replaced by its plaintext: dynamic providers do not accept secrets (docs/engine.md, "Secrets and dynamic providers"). */
export function unwrapSecrets<T extends Value>(v: T): T {
  if (isWireSecret(v)) return unwrapSecrets(v.value) as T;
  if (Array.isArray(v)) return v.map(unwrapSecrets) as T;
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)])) as T;
  return v;
}

/**
 * Re-marks provider outputs as secret the way the engine's annotateSecrets does: an output whose
 * same-named input held a secret becomes secret (recursing into objects), as do the outputs the
 * resource lists in additionalSecretOutputs.
 */
export function annotateSecrets(outputs: Props, inputs: Props, additional: readonly string[] = []): Props {
  const walk = (out: Value, inp: Value | undefined): Value => {
    if (inp === undefined || hasSecret(out)) return out;
    if (isWireSecret(inp)) return secret(out);
    if (isObject(out) && isObject(inp)) return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, walk(v, inp[k])]));
    return out;
  };
  const result: Props = {};
  for (const [k, v] of Object.entries(outputs)) {
    result[k] = additional.includes(k) && !hasSecret(v) ? secret(v) : walk(v, inputs[k]);
  }
  return result;
}

/** Wire form → state form: secrets are stored as `{sig, plaintext: JSON}`. */
export function toState<T extends Value>(v: T): T {
  if (isWireSecret(v)) return { [SIG]: SECRET_SIG, plaintext: JSON.stringify(toState(v.value)) } as Value as T;
  if (Array.isArray(v)) return v.map(toState) as T;
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toState(x)])) as T;
  return v;
}

/** State form → wire form. */
export function fromState<T extends Value>(v: T): T {
  if (isObject(v) && v[SIG] === SECRET_SIG && typeof v.plaintext === "string") {
    return secret(fromState(JSON.parse(v.plaintext) as Value)) as T;
  }
  if (Array.isArray(v)) return v.map(fromState) as T;
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromState(x)])) as T;
  return v;
}

/** The top-level keys whose values differ, secrets compared by plaintext (the legacy diff). */
export function changedKeys(olds: Props, news: Props): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys].filter((k) => !isDeepStrictEqual(unwrapSecrets(olds[k] ?? null), unwrapSecrets(news[k] ?? null))).sort();
}

/** The changed keys to show a user: the provider's code is shown only when nothing else changed. */
export function displayedDiffs(olds: Props, news: Props): string[] {
  const keys = changedKeys(olds, news);
  const withoutCode = keys.filter((k) => k !== PROVIDER_KEY);
  return withoutCode.length > 0 ? withoutCode : keys;
}

/**
 * `news` with the ignoreChanges paths (`a`, `a.b`, `a[0].b`) reset to their old values, as the
 * engine does before Check (processIgnoreChanges).
 */
export function applyIgnoreChanges(olds: Props, news: Props, paths: readonly string[]): Props {
  const result = structuredClone(news);
  for (const p of paths) {
    const parts = p.match(/[^.[\]"]+/g) ?? [];
    let from: Value | undefined = olds;
    let to: Value | undefined = result;
    for (const [i, part] of parts.entries()) {
      const key: string | number = Array.isArray(to) ? Number(part) : part;
      const last = i === parts.length - 1;
      const oldValue: Value | undefined = isObject(from) || Array.isArray(from) ? (from as Record<string | number, Value>)[key] : undefined;
      if (!(isObject(to) || Array.isArray(to))) break;
      const container = to as Record<string | number, Value>;
      if (last) {
        if (oldValue === undefined) delete container[key];
        else container[key] = structuredClone(oldValue);
      }
      from = oldValue;
      to = container[key];
    }
  }
  return result;
}
