import type * as pulumi from "@pulumi/pulumi";
import { hostProblem, type Host } from "./host";
import type { Owner } from "./owner";

// Validation as tables of rules (docs/design.md, "Validate before touching the kernel"): check() returns every failure at once,
// never throws for bad input, spawns nothing, and skips values unknown during preview.

/** The engine's placeholder for a value not known until apply (preview only). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

/** A value that is set and known. */
export function known<T>(v: T | undefined): v is T {
  return v !== undefined && v !== null && !isUnknown(v);
}

export interface Rule<I> {
  property: keyof I & string;
  /** Returns what is wrong and what is allowed (and the fix), or undefined when fine. */
  problem: (value: never, inputs: I) => string | undefined;
  /** Run even when the value is unset (required inputs, cross-property rules). */
  whenUnset?: boolean;
}

/** A property rule; `value` is typed as the property's own type. */
export function rule<I, K extends keyof I & string>(
  property: K,
  problem: (value: NonNullable<I[K]>, inputs: I) => string | undefined,
): Rule<I> {
  return { property, problem: problem as Rule<I>["problem"] };
}

/** A rule that runs whether or not the property is set. */
export function ruleUnset<I, K extends keyof I & string>(property: K, problem: (value: I[K] | undefined, inputs: I) => string | undefined): Rule<I> {
  return { property, problem: problem as Rule<I>["problem"], whenUnset: true };
}

export function required<I>(property: keyof I & string, what: string): Rule<I> {
  return ruleUnset<I, keyof I & string>(property, (v) => (v === undefined || v === null || v === "" ? `it is required: ${what}` : undefined));
}

/**
 * Runs the rules. Each failure's reason reads `<value> is not valid: <why>`: the engine (nslab's
 * or Pulumi's) prints it after the resource and the property (`VethPair resource 'lan0': property
 * name has a problem: "…" is not valid: …`), so the message names each once.
 */
export function validate<I>(inputs: I, rules: readonly Rule<I>[]): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const values = inputs as Record<string, unknown>;
  for (const r of rules) {
    if (failures.some((f) => f.property === r.property)) continue; // one reason per property
    const value = values[r.property];
    if (isUnknown(value)) continue;
    if ((value === undefined || value === null) && !r.whenUnset) continue;
    const problem = r.problem(value as never, inputs);
    if (problem === undefined) continue;
    const shown = value === undefined ? "(unset)" : JSON.stringify(value);
    failures.push({ property: r.property, reason: `${shown} is not valid: ${problem}` });
  }
  return failures;
}

/** Common rules for inputs every kind has. */
export function commonRules<I extends { owner?: Owner; adopt?: boolean; host?: Host }>(): Rule<I>[] {
  return [
    rule<I, keyof I & string>("host" as keyof I & string, hostProblem),
    ruleUnset<I, keyof I & string>("owner" as keyof I & string, (v) =>
      isOwner(v) ? undefined : "set by the nslab SDK classes; create this resource through them (new nslab.<Kind>(...))",
    ),
    rule<I, keyof I & string>("adopt" as keyof I & string, booleanProblem),
  ];
}

/** The problem of a boolean input. */
export function booleanProblem(v: unknown): string | undefined {
  return typeof v === "boolean" ? undefined : "use true or false";
}

function isOwner(v: unknown): v is Owner {
  const o = v as Owner | undefined;
  return !!o && typeof o.project === "string" && typeof o.stack === "string" && Array.isArray(o.path) && o.path.length > 0;
}

/** Rules for integer inputs within [min, max]. */
export function intInRange(min: number, max: number, unit = ""): (v: number) => string | undefined {
  return (v) => (Number.isInteger(v) && v >= min && v <= max ? undefined : `use an integer from ${min} to ${max}${unit}`);
}

/**
 * The problem of a `<key>Identity` input: the incarnation of the resource passed as `key`, which
 * the nslab SDK sets (sdk/internal/refs.ts); anything but a non-empty string is refused.
 */
export function identityProblem(key: string): (v: unknown) => string | undefined {
  return (v) => (typeof v === "string" && v !== "" ? undefined : `use a non-empty string: the incarnation of the resource passed as ${key}, which the nslab SDK sets`);
}
