import { USER_TYPE, type Result } from "./deploy";
import { changedValues, diagnosticLine, MARK } from "./output";
import type { Step } from "./steps";
import { parseUrn } from "./urn";

// `nslab preview --format markdown`: a preview as a review-ready summary for a pull-request
// comment: a heading, the counts, then each changed resource with its changed properties (with
// --diff, old → new, as `--diff` prints them on a terminal).

const ORDER: Step["op"][] = ["create", "replace", "update", "delete"];
/** Longer values (a provider's code) are cut: a comment has a size limit. */
const MAX_VALUE = 120;

/** `text` as a Markdown code span, whatever backticks it holds. */
function code(text: string): string {
  const fence = "`".repeat(Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length)) + 1);
  return fence.length > 1 ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

const clip = (text: string) => (text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text);

export function previewMarkdown(r: Result, diff: boolean): string {
  const c = r.changeSummary;
  const lines = [
    `### nslab ${r.operation} of stack ${code(r.stack)}${r.failed ? ": failed" : ""}`,
    "",
    "| create | update | replace | delete | same |",
    "|---:|---:|---:|---:|---:|",
    `| ${c.create} | ${c.update} | ${c.replace} | ${c.delete} | ${c.same} |`,
    "",
  ];
  const steps = r.steps
    .filter((s) => s.op !== "same" && USER_TYPE(s.type))
    .map((s) => ({ ...s, name: parseUrn(s.urn).name }))
    .sort((a, b) => ORDER.indexOf(a.op) - ORDER.indexOf(b.op) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (!steps.length && !r.failed) lines.push("No changes.", "");
  for (const s of steps) {
    const keys = s.diffs.length && !diff ? `: ${s.diffs.map(code).join(", ")}` : "";
    lines.push(`- ${code(MARK[s.op])} **${s.op}** ${code(parseUrn(s.urn).name)} (${s.type.split(":").pop()})${keys}`);
    if (diff) for (const v of changedValues(s)) lines.push(`  - ${code(v.key)}: ${code(clip(v.before))} → ${code(clip(v.after))}`);
  }
  // Errors only: the runtime's warnings are noise in a review (they stay on stderr).
  const problems = r.diagnostics.filter((d) => d.severity === "error").map(diagnosticLine);
  if (problems.length) {
    const fence = "`".repeat(Math.max(3, ...(problems.join("\n").match(/`{3,}/g) ?? []).map((m) => m.length + 1)));
    lines.push(...(steps.length ? [""] : []), "Problems:", "", fence, ...problems, fence);
  }
  return lines.join("\n").trimEnd() + "\n";
}
