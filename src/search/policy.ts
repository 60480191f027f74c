/**
 * The search policy as a plain, JSON-serializable state and two pure steps per epoch
 * (Li et al., ICCV 2019, Algorithm 1; docs/algorithm.md, "Modes"):
 *
 * - `amlfs`: sample B thetas around mu, train, update mu with REINFORCE + Adam;
 * - `fixed`: sample B thetas around the initial mu, never update (random search, Sec. 4.6);
 * - `baseline`: no sampling, one task per epoch with theta = mu_0.
 */
import { type AdamState, adamInit } from "./adam.js";
import { SearchInputError, describeValue } from "./errors.js";
import { policyUpdate } from "./reinforce.js";
import { normalizeRewards } from "./rewards.js";
import { sampleThetas } from "./sample.js";
import { checkTheta, cosineMargin, dim, identity } from "./space.js";
import { type SpaceForm, checkInitInSpace, checkSpaceForm, sampledCoordinates } from "./space-form.js";
import { requireInteger, requirePositive, requireUint32 } from "./validate.js";

export type SearchMode = "amlfs" | "fixed" | "baseline";

export type MuInit =
  | { kind: "identity" }
  | { kind: "cosineMargin"; margin: number }
  | { kind: "theta"; theta: number[] };

export interface PolicyConfig {
  mode: SearchMode;
  M: number;
  B: number;
  sigmaStd: number;
  lr: number;
  seed: number;
  init: MuInit;
  /** How a sample becomes the trained loss (space-form.ts); default "power". */
  space?: SpaceForm;
}

/** Everything the policy carries between epochs; plain JSON. */
export interface PolicyState {
  mode: SearchMode;
  M: number;
  B: number;
  sigmaStd: number;
  lr: number;
  seed: number;
  space: SpaceForm;
  mu: number[];
  adam: AdamState;
}

export interface EpochOutcome {
  state: PolicyState;
  /** Index of the best finished sample, null when none finished. */
  best: number | null;
  normalized: (number | null)[];
  /** Whether mu moved this epoch. */
  applied: boolean;
}

const MODES: readonly SearchMode[] = ["amlfs", "fixed", "baseline"];

/** mu_0 for an init choice; an explicit theta must have length 4M. */
export function initialMu(init: MuInit, M: number): number[] {
  switch (init.kind) {
    case "identity":
      return identity(M);
    case "cosineMargin":
      return cosineMargin(M, init.margin);
    case "theta":
      checkTheta(init.theta, M);
      return [...init.theta];
    default:
      throw new SearchInputError(
        "init",
        `\`init.kind\` must be "identity", "cosineMargin" or "theta", ` +
          `got ${describeValue((init as { kind: unknown }).kind)}`,
      );
  }
}

export function createPolicy(config: PolicyConfig): PolicyState {
  if (!MODES.includes(config.mode)) {
    const given = describeValue(config.mode);
    throw new SearchInputError("mode", `\`mode\` must be one of ${MODES.join(", ")}, got ${given}`);
  }
  requireInteger("B", config.B, 1);
  if (config.mode === "baseline" && config.B !== 1) {
    throw new SearchInputError("B", `\`B\` must be 1 in baseline mode (one task per epoch), got ${config.B}`);
  }
  requirePositive("sigmaStd", config.sigmaStd);
  requirePositive("lr", config.lr);
  requireUint32("seed", config.seed);
  const space = checkSpaceForm(config.space ?? "power");
  const mu = initialMu(config.init, config.M);
  checkInitInSpace(mu, config.M, space);
  const { mode, M, B, sigmaStd, lr, seed } = config;
  return { mode, M, B, sigmaStd, lr, seed, space, mu, adam: adamInit(dim(M)) };
}

/** The thetas to train in `epoch` (0-based), one task each. */
export function planEpoch(state: PolicyState, epoch: number): number[][] {
  if (state.mode === "baseline") {
    requireUint32("epoch", epoch);
    return [[...state.mu]];
  }
  const { seed, mu, sigmaStd, B } = state;
  return sampleThetas({ seed, epoch, mu, sigmaStd, B, sampled: sampledCoordinates(state.space, state.M) });
}

/** The state after an epoch whose tasks ran `thetas` and earned `rewards` (null if failed). */
export function finishEpoch(
  state: PolicyState,
  thetas: readonly (readonly number[])[],
  rewards: readonly (number | null)[],
): EpochOutcome {
  if (rewards.length !== thetas.length) {
    throw new SearchInputError(
      "rewards",
      `\`rewards\` must have one entry per theta (${thetas.length}), got ${rewards.length}`,
    );
  }
  if (state.mode !== "amlfs") {
    const { best, normalized } = normalizeRewards(rewards);
    return { state, best, normalized, applied: false };
  }
  const update = policyUpdate({
    mu: state.mu,
    sigmaStd: state.sigmaStd,
    lr: state.lr,
    thetas,
    rewards,
    adam: state.adam,
  });
  return {
    state: { ...state, mu: update.mu, adam: update.adam },
    best: update.best,
    normalized: update.normalized,
    applied: update.applied,
  };
}
