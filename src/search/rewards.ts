/**
 * Reward normalization (docs/algorithm.md, "Rewards"): over the finished samples
 * (finite rewards), Rn_k = (R_k - mean) / std with the population std. With at most one
 * finished sample, or equal rewards (std <= 1e-12 * max(1, |mean|)), every Rn_k is 0.
 */

export interface NormalizedRewards {
  /** Rn_k for finished samples, null for the others. */
  normalized: (number | null)[];
  /** Number of finished samples. */
  finished: number;
  /** Whether any normalized reward is non-zero (else the update is skipped). */
  informative: boolean;
  /** Index of the highest finished reward, the lowest on ties; null if none finished. */
  best: number | null;
}

const EQUAL_REWARDS_RELATIVE = 1e-12;

function isFinished(reward: number | null | undefined): reward is number {
  return typeof reward === "number" && Number.isFinite(reward);
}

export function normalizeRewards(rewards: readonly (number | null)[]): NormalizedRewards {
  const finishedRewards = rewards.filter(isFinished);
  const n = finishedRewards.length;
  let best: number | null = null;
  rewards.forEach((reward, index) => {
    if (isFinished(reward) && (best === null || reward > (rewards[best] as number))) best = index;
  });
  if (n === 0) return { normalized: rewards.map(() => null), finished: 0, informative: false, best };

  let sum = 0;
  for (const reward of finishedRewards) sum += reward;
  const mean = sum / n;
  let squares = 0;
  for (const reward of finishedRewards) squares += (reward - mean) * (reward - mean);
  const std = Math.sqrt(squares / n);
  const informativeSpread = n > 1 && std > EQUAL_REWARDS_RELATIVE * Math.max(1, Math.abs(mean));

  const normalized = rewards.map((reward) => {
    if (!isFinished(reward)) return null;
    return informativeSpread ? (reward - mean) / std : 0;
  });
  const informative = normalized.some((value) => value !== null && value !== 0);
  return { normalized, finished: n, informative, best };
}
