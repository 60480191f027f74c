/**
 * Figure "rewards": the spread of the validation rewards of the B samples per epoch: every
 * reward as a dot, the min..max band, the median and the best (whose model was kept).
 */
import type { EpochRecord } from "../orchestrate/journal.js";
import { type Point, renderFigure } from "./chart.js";
import { finishedRewards, median } from "./run-data.js";

export const REWARDS_FIGURE_ID = "figure-rewards";

export interface RewardSpread {
  epoch: number;
  rewards: number[];
  failed: number;
  min: number;
  median: number;
  max: number;
}

/** Per epoch: the finished rewards and their min / median / max (epochs where every sample failed are left out). */
export function rewardSpread(epochs: readonly Pick<EpochRecord, "epoch" | "rewards">[]): RewardSpread[] {
  return epochs.flatMap((record) => {
    const rewards = finishedRewards(record.rewards);
    if (rewards.length === 0) return [];
    return [{
      epoch: record.epoch,
      rewards,
      failed: record.rewards.length - rewards.length,
      min: Math.min(...rewards),
      median: median(rewards),
      max: Math.max(...rewards),
    }];
  });
}

export function rewardsFigure(epochs: readonly Pick<EpochRecord, "epoch" | "rewards">[], metric: string): string {
  const spread = rewardSpread(epochs);
  // x counts epochs from 1 as the console does; the journal's `epoch` is 0-based.
  const x = (one: RewardSpread) => one.epoch + 1;
  const dots: Point[] = spread.flatMap((one) => one.rewards.map((reward) => [x(one), reward] as const));
  const failed = spread.reduce((sum, one) => sum + one.failed, 0);
  return renderFigure({
    id: REWARDS_FIGURE_ID,
    title: "Validation rewards of the samples per epoch",
    panels: [
      {
        title: `Rewards (${metric} on the validation split) per epoch`,
        xLabel: "epoch",
        yLabel: metric,
        bands: [{ label: "min .. max", lower: spread.map((one) => [x(one), one.min]), upper: spread.map((one) => [x(one), one.max]), color: "#0072B2" }],
        series: [
          { label: "each sample", points: dots, style: "points", color: "#555555" },
          { label: "median", points: spread.map((one) => [x(one), one.median]), color: "#0072B2" },
          { label: "best (kept)", points: spread.map((one) => [x(one), one.max]), color: "#D55E00", dash: "5 3" },
        ],
        ...(failed > 0 ? { note: `${failed} failed sample(s) not drawn` } : {}),
      },
    ],
    panelWidthPx: 620,
  });
}
