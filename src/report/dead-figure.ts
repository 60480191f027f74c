/**
 * Figure "dead examples": per epoch, the share of each sample's training examples on which
 * its loss trained almost nothing, and the mean gradient factor. AM-LFS (Li et al., ICCV
 * 2019, Eq. 15) scales cross-entropy's gradient on the logits by c = a_tau p / tau(p) (0
 * where tau is floored) and the target cosine's by a_t; an example is dead for tau when
 * c < 0.01, for t when a_t < 0.01 (the workers count them: `lossStats` of the journal's
 * epoch records, docs/protocol.md). Journals of earlier versions have no `lossStats`.
 */
import type { EpochRecord } from "../orchestrate/journal.js";
import { DEAD_FACTOR, type LossStats } from "../schema/wire/loss-stats.js";
import { type Point, renderFigure } from "./chart.js";
import { niceDomain } from "./scale.js";

export const DEAD_FIGURE_ID = "figure-dead";

type DeadInput = Pick<EpochRecord, "epoch" | "best" | "lossStats">;

export type SampleStats = LossStats & { sample: number };

export interface DeadEpoch {
  epoch: number;
  /** The samples with stats, by index (failed samples and fixed heads measure nothing). */
  samples: SampleStats[];
  /** The winner's stats (`best` of the record), or null when it has none. */
  winner: SampleStats | null;
  /** Mean c over every example of the epoch's measured samples (each sample weighted by its examples). */
  meanC: number;
}

/** The epochs whose record has at least one sample's `lossStats` with examples; the others are left out. */
export function deadSpread(epochs: readonly DeadInput[]): DeadEpoch[] {
  return epochs.flatMap((record) => {
    const samples = (record.lossStats ?? []).flatMap((stats, sample) => (stats === null || stats.examples === 0 ? [] : [{ ...stats, sample }]));
    if (samples.length === 0) return [];
    const examples = samples.reduce((sum, one) => sum + one.examples, 0);
    const meanC = samples.reduce((sum, one) => sum + one.meanC * one.examples, 0) / examples;
    const winner = samples.find((one) => one.sample === record.best) ?? null;
    return [{ epoch: record.epoch, samples, winner, meanC }];
  });
}

/** Whether any epoch of the journal carries `lossStats` to draw (false for runs of earlier versions). */
export function hasLossStats(epochs: readonly DeadInput[]): boolean {
  return deadSpread(epochs).length > 0;
}

const GREY = "#555555";
const WINNER = "#D55E00";
const T_COLOR = "#0072B2";
const T_WINNER = "#CC79A7";

/** The figure; a RangeError when no epoch has `lossStats` (check {@link hasLossStats} first). */
export function deadFigure(epochs: readonly DeadInput[]): string {
  const spread = deadSpread(epochs);
  if (spread.length === 0) throw new RangeError("dead examples figure: no epoch record has lossStats");
  // x counts epochs from 1 as the console does; the journal's `epoch` is 0-based.
  const x = (one: DeadEpoch) => one.epoch + 1;
  const each = (pick: (stats: LossStats) => number): Point[] => spread.flatMap((one) => one.samples.map((stats) => [x(one), pick(stats)] as const));
  const winners = (pick: (stats: LossStats) => number): Point[] =>
    spread.flatMap((one) => (one.winner === null ? [] : [[x(one), pick(one.winner)] as const]));
  const anyT = spread.some((one) => one.samples.some((stats) => stats.tDeadShare > 0));
  const missing = epochs.length - spread.length;
  const epochRange = [spread[0], spread.at(-1)].map((one) => (one === undefined ? 1 : x(one)));
  const cValues = [0, 1, ...each((stats) => stats.meanC).map(([, y]) => y)];
  return renderFigure({
    id: DEAD_FIGURE_ID,
    title: "Dead examples per epoch: share of each sample's examples with a vanishing gradient factor",
    panels: [
      {
        title: `Share of dead examples (factor < ${DEAD_FACTOR}) per sample`,
        xLabel: "epoch",
        yLabel: "share of the examples",
        yDomain: [0, 1],
        series: [
          { label: `c < ${DEAD_FACTOR}: each sample`, points: each((stats) => stats.deadShare), style: "points", color: GREY },
          { label: `c < ${DEAD_FACTOR}: winner`, points: winners((stats) => stats.deadShare), style: "points", color: WINNER },
          ...(anyT
            ? [
                { label: `a_t < ${DEAD_FACTOR}: each sample`, points: each((stats) => stats.tDeadShare), style: "points" as const, color: T_COLOR },
                { label: `a_t < ${DEAD_FACTOR}: winner`, points: winners((stats) => stats.tDeadShare), style: "points" as const, color: T_WINNER },
              ]
            : []),
        ],
        ...(missing > 0 ? { note: `${missing} epoch(s) without lossStats not drawn` } : {}),
      },
      {
        title: "Mean gradient factor c per epoch",
        xLabel: "epoch",
        yLabel: "mean c",
        yDomain: niceDomain(cValues),
        series: [
          { label: "each sample", points: each((stats) => stats.meanC), style: "points", color: GREY },
          { label: "all examples of the epoch", points: spread.map((one) => [x(one), one.meanC] as const), color: T_COLOR },
          { label: "winner", points: winners((stats) => stats.meanC), style: "points", color: WINNER },
          { label: "identity (c = 1)", points: epochRange.map((epoch) => [epoch, 1] as const), color: "#999999", dash: "6 3" },
        ],
      },
    ],
    panelWidthPx: 520,
  });
}
