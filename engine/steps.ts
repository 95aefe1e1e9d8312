import type { Severity } from "./monitor";
import type { Props } from "./values";

// What a run reports: one step per resource it handled, and diagnostics.

export type Op = "same" | "create" | "update" | "replace" | "delete";

export interface Step {
  op: Op;
  urn: string;
  type: string;
  diffs: string[];
  /** Old and new inputs of the changed keys, for `--diff` (refresh: old and read outputs). */
  olds?: Props;
  news?: Props;
}

export interface Diagnostic {
  severity: Severity;
  message: string;
  urn?: string;
}
