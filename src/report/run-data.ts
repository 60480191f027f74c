/**
 * What a report needs from a run directory (docs/design.md, The run directory): the frozen
 * config, the epoch records of journal.jsonl and the final record, read with compare.ts's reader, plus
 * the series of mu (mu_0 before epoch 0, then mu after each epoch). Read-only.
 */
import { join } from "node:path";
import { readRunOutcome, type RunOutcome } from "../orchestrate/run-outcome.js";
import { JOURNAL_FILE } from "../orchestrate/run-dir.js";
import { ReportError } from "./errors.js";

export interface ReportRun extends RunOutcome {
  /** M, the number of intervals: theta has 4 M entries. */
  M: number;
  /** mu_0, mu_1, ..., mu_E (E finished epochs): `muSeries[e]` is mu at the start of epoch e. */
  muSeries: number[][];
  /** Whether mu was ever updated (false in baseline and fixed modes, and when no update applied). */
  muUpdated: boolean;
}

/** Reads `path` as a run directory; a journal without a finished epoch is an error (nothing to draw). */
export async function readReportRun(path: string): Promise<ReportRun> {
  const outcome = await readRunOutcome(path);
  const M = outcome.config.search.M;
  const first = outcome.epochs[0];
  if (first === undefined) {
    throw new ReportError(`${join(path, JOURNAL_FILE)}: expected at least one finished epoch record, got none (run or resume it first)`);
  }
  const muSeries = [first.muBefore, ...outcome.epochs.map((epoch) => epoch.mu)];
  muSeries.forEach((mu, index) => {
    if (mu.length !== 4 * M) {
      const field = index === 0 ? "epoch 0 muBefore" : `epoch ${index - 1} mu`;
      throw new ReportError(`${join(path, JOURNAL_FILE)}: ${field}: expected 4 * M = ${4 * M} numbers (M from config.json), got ${mu.length}`);
    }
  });
  return { ...outcome, M, muSeries, muUpdated: outcome.epochs.some((epoch) => epoch.applied) };
}

/** The rewards of one epoch that finished (failed samples are null in the journal and left out). */
export function finishedRewards(rewards: readonly (number | null)[]): number[] {
  return rewards.filter((reward): reward is number => reward !== null && Number.isFinite(reward));
}

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median: expected at least one value");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
