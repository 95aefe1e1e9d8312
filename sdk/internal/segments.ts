import type { SubnetPlan } from "../components/allocate";
import type { Segment } from "../components/segment";
import type { NetnsRef } from "./refs";

// What a Segment's attachments and the components joining it (Router, PublishedPort) need of it,
// and no user does. Kept apart from segment.ts so that those components import no component back
// at run time.

export interface SegmentInternals {
  readonly name: string;
  readonly netns: NetnsRef | undefined;
  readonly plan: SubnetPlan;
  /** Address -> name of the attachments made so far, in declaration order. */
  readonly taken: Map<string, string>;
}

const internals = new WeakMap<Segment, SegmentInternals>();

/** Called once by the Segment's constructor. */
export function setSegmentInternals(segment: Segment, i: SegmentInternals): void {
  internals.set(segment, i);
}

/** The name, namespace and address plan of a segment. */
export function segmentInternals(segment: Segment): SegmentInternals {
  return internals.get(segment)!;
}
