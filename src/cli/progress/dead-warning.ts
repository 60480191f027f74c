/**
 * The warning printed after a train task whose sampled loss trained almost nothing: most of
 * its examples had a gradient factor c = a_tau p / tau(p) below 0.01 (tau floored or flat:
 * no gradient on the logits), or a slope a_t of t below 0.01 at their target cosine (no
 * gradient pulling the target cosine up). From the result's `lossStats`.
 */
import type { TimedEvent } from "../../orchestrate/events.js";
import { DEAD_FACTOR } from "../../schema/wire/loss-stats.js";

/** A task warns when more than this share of its examples was dead, for tau or for t. */
export const DEAD_WARNING_SHARE = 0.5;

const percent = (share: number) => `${Math.round(share * 100)} %`;

/** The warning line for a `task-result` event, or null (not a train result, nothing measured, or mostly alive). */
export function deadLossWarning(event: TimedEvent): string | null {
  if (event.type !== "task-result" || event.kind !== "train") return null;
  const stats = event.lossStats ?? null; // absent in events written by earlier versions
  if (stats === null) return null;
  const parts: string[] = [];
  if (stats.deadShare > DEAD_WARNING_SHARE) {
    parts.push(`${percent(stats.deadShare)} of its examples had a gradient factor below ${DEAD_FACTOR} (${percent(stats.flooredShare)} floored)`);
  }
  if (stats.tDeadShare > DEAD_WARNING_SHARE) {
    const whose = parts.length === 0 ? " of its examples" : "";
    parts.push(`${percent(stats.tDeadShare)}${whose} had a slope of t below ${DEAD_FACTOR} at their target cosine`);
  }
  return parts.length === 0 ? null : `warning: ${event.taskId} trained almost nothing: ${parts.join("; ")}`;
}
