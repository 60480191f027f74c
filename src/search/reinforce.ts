/**
 * The REINFORCE step of AM-LFS (Li et al., ICCV 2019, Eq. 19-20; docs/algorithm.md,
 * "Update"): for a Gaussian policy N(mu, sigmaStd^2 I) the score is
 * (theta_k - mu) / sigmaStd^2, so the ascent direction is
 *
 *   g = (1/n) * sum over finished k of Rn_k * (theta_k - mu) / sigmaStd^2,
 *
 * n the number of finished samples. It is applied with Adam unless the rewards carry no
 * information (then mu and the Adam state stay as they were).
 */
import { type AdamState, adamAscend, checkAdamState } from "./adam.js";
import { SearchInputError, describeValue } from "./errors.js";
import { normalizeRewards } from "./rewards.js";
import { requireFiniteVector, requirePositive } from "./validate.js";

export interface DirectionRequest {
  mu: readonly number[];
  sigmaStd: number;
  thetas: readonly (readonly number[])[];
  /** Rn_k per sample; null for samples that did not finish. */
  normalized: readonly (number | null)[];
}

export interface PolicyUpdateRequest {
  mu: readonly number[];
  sigmaStd: number;
  lr: number;
  thetas: readonly (readonly number[])[];
  /** Raw rewards; null, NaN or Infinity mark a sample that did not finish. */
  rewards: readonly (number | null)[];
  adam: AdamState;
}

export interface PolicyUpdate {
  direction: number[];
  /** False when the update was skipped (no informative reward). */
  applied: boolean;
  mu: number[];
  adam: AdamState;
  normalized: (number | null)[];
  best: number | null;
}

function checkThetas(thetas: readonly (readonly number[])[], dim: number): void {
  if (!Array.isArray(thetas) || thetas.length === 0) {
    const given = describeValue(thetas);
    throw new SearchInputError("thetas", `\`thetas\` must be a non-empty array of vectors, got ${given}`);
  }
  thetas.forEach((theta, k) => requireFiniteVector("thetas", theta, dim, `thetas[${k}]`));
}

export function reinforceDirection({ mu, sigmaStd, thetas, normalized }: DirectionRequest): number[] {
  requireFiniteVector("mu", mu);
  requirePositive("sigmaStd", sigmaStd);
  checkThetas(thetas, mu.length);
  if (normalized.length !== thetas.length) {
    throw new SearchInputError(
      "normalized",
      `\`normalized\` must have one entry per theta (${thetas.length}), got ${normalized.length}`,
    );
  }
  const variance = sigmaStd * sigmaStd;
  const direction = Array<number>(mu.length).fill(0);
  let n = 0;
  normalized.forEach((rn, k) => {
    if (rn === null) return;
    n++;
    const theta = thetas[k] as readonly number[];
    for (let d = 0; d < mu.length; d++) {
      direction[d] = (direction[d] as number) + (rn * ((theta[d] as number) - (mu[d] as number))) / variance;
    }
  });
  return n === 0 ? direction : direction.map((sum) => sum / n);
}

export function policyUpdate({ mu, sigmaStd, lr, thetas, rewards, adam }: PolicyUpdateRequest): PolicyUpdate {
  requireFiniteVector("mu", mu);
  requirePositive("sigmaStd", sigmaStd);
  requirePositive("lr", lr);
  checkThetas(thetas, mu.length);
  if (!Array.isArray(rewards) || rewards.length !== thetas.length) {
    throw new SearchInputError(
      "rewards",
      `\`rewards\` must have one entry per theta (${thetas.length}), got ${describeValue(rewards)}`,
    );
  }
  checkAdamState(adam, mu.length);
  const { normalized, informative, best } = normalizeRewards(rewards);
  const direction = reinforceDirection({ mu, sigmaStd, thetas, normalized });
  if (!informative) {
    return { direction, applied: false, mu: [...mu], adam: structuredClone(adam), normalized, best };
  }
  const next = adamAscend(mu, direction, adam, lr);
  return { direction, applied: true, mu: next.mu, adam: next.adam, normalized, best };
}
