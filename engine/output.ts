import { USER_TYPE, type Operation, type Result } from "./deploy";
import type { Diagnostic, Step } from "./steps";
import { parseUrn } from "./urn";
import { isWireSecret, UNKNOWN, type Props, type Value } from "./values";

// What `nslab` prints: Pulumi-like lines for people, and the one --json object of docs/design.md,
// "The CLI's output contract". Secrets are never printed; unknowns (preview) show as [unknown].

/** The sign of each operation, as Pulumi prints it. */
export const MARK: Record<Step["op"], string> = { same: " ", create: "+", update: "~", replace: "+-", delete: "-" };

/** A value fit to show: secrets masked, unknowns named. */
export function shown(v: Value): Value {
  if (v === UNKNOWN) return "[unknown]";
  if (isWireSecret(v)) return "[secret]";
  if (Array.isArray(v)) return v.map(shown);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shown(x)]));
  return v;
}

/** One progress line per step (sames are not shown), with `--diff` the changed values. */
export function stepLines(s: Step, diff: boolean): string[] {
  if (s.op === "same") return [];
  const lines = [`  ${MARK[s.op].padEnd(2)} ${s.op.padEnd(7)} ${s.type}  ${parseUrn(s.urn).name}${s.diffs.length ? `  [diff: ${s.diffs.join(", ")}]` : ""}`];
  if (diff) for (const c of changedValues(s)) lines.push(`        ${c.key}: ${c.before} => ${c.after}`);
  return lines;
}

/** The old and new value of each changed key of a step, shown as JSON; "(none)" where unset. */
export function changedValues(s: Step): { key: string; before: string; after: string }[] {
  const text = (p: Props | undefined, k: string) => (p && k in p ? JSON.stringify(shown(p[k]!)) : "(none)");
  return s.diffs.map((key) => ({ key, before: text(s.olds, key), after: text(s.news, key) }));
}

/**
 * What a refresh found of one resource, in its words: `gone`, or `changed` with each changed
 * output as `key old → new` (a refresh changes nothing; it records what exists).
 */
export function findingLines(s: Step): string[] {
  if (s.op === "same") return [];
  const what = s.op === "delete" ? "gone" : "changed";
  const changes = changedValues(s).map((c) => `${c.key} ${c.before} → ${c.after}`);
  return [`  ${what.padEnd(8)} ${s.type}  ${parseUrn(s.urn).name}${changes.length ? `: ${changes.join(", ")}` : ""}`];
}

/** The counts of what a refresh found. */
function foundSummary(steps: readonly Step[]): string {
  const count = (op: Step["op"]) => steps.filter((s) => s.op === op && USER_TYPE(s.type)).length;
  const parts = [[count("delete"), "gone"], [count("update"), "changed"], [count("same"), "unchanged"]].filter(([n]) => n).map(([n, what]) => `${n} ${what}`);
  return parts.length ? parts.join(", ") : "nothing";
}

export function diagnosticLine(d: Diagnostic): string {
  const name = d.urn ? parseUrn(d.urn).name : undefined;
  const where = name && !d.message.includes(`'${name}'`) ? `${name}: ` : "";
  return `  ${d.severity}: ${where}${d.message}`;
}

const VERB: Record<Operation, [string, string]> = {
  up: ["Updating", "created"],
  preview: ["Previewing update", "to create"],
  refresh: ["Refreshing", "refreshed"],
  destroy: ["Destroying", "deleted"],
};

export function header(op: Operation, stack: string): string {
  return `${VERB[op][0]} (${stack}):`;
}

export function summary(r: Result): string {
  if (r.operation === "refresh") return [`Refresh found: ${foundSummary(r.steps)}`, ...(r.failed ? ["refresh failed"] : [])].join("\n");
  const c = r.changeSummary;
  const future = r.operation === "preview";
  const parts = [
    c.create && `${c.create} ${future ? "to create" : "created"}`,
    c.update && `${c.update} ${future ? "to update" : "updated"}`,
    c.replace && `${c.replace} ${future ? "to replace" : "replaced"}`,
    c.delete && `${c.delete} ${future ? "to delete" : "deleted"}`,
    c.same && `${c.same} unchanged`,
  ].filter(Boolean);
  const lines = [...(r.refreshed ? [`Refresh found: ${foundSummary(r.refreshed)}`] : []), `Resources: ${parts.length ? parts.join(", ") : "none"}`];
  if (r.outputs && Object.keys(r.outputs).length) {
    lines.push("Outputs:");
    for (const [k, v] of Object.entries(r.outputs)) lines.push(`    ${k}: ${JSON.stringify(shown(v))}`);
  }
  if (r.failed) lines.push(`${r.operation} failed`);
  return lines.join("\n");
}

/** The --json object (docs/design.md, "The CLI's output contract"). */
export function json(r: Result): object {
  const steps = (list: Step[]) => list.map((s) => ({ op: s.op, urn: s.urn, type: s.type, diffs: s.diffs, diffReasons: s.diffs }));
  return {
    operation: r.operation,
    stack: r.stack,
    ...(r.refreshed ? { refreshed: steps(r.refreshed) } : {}),
    steps: steps(r.steps),
    changeSummary: r.changeSummary,
    ...(r.outputs ? { outputs: shown(r.outputs as Props) } : {}),
    diagnostics: r.diagnostics,
    failed: r.failed,
  };
}
