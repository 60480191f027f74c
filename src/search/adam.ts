/**
 * Adam (Kingma and Ba, 2015) as an ascent step on mu, with a plain-JSON state
 * (docs/algorithm.md, "Update"): b1 = 0.9, b2 = 0.999, eps = 1e-8. Inputs are never
 * mutated; each call returns the new mu and the new state.
 */
import { SearchInputError } from "./errors.js";
import { requireFiniteVector, requireInteger, requirePositive } from "./validate.js";

export interface AdamState {
  /** Number of steps taken so far. */
  step: number;
  /** First moment. */
  m: number[];
  /** Second moment. */
  v: number[];
}

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPS = 1e-8;

export function adamInit(dim: number): AdamState {
  requireInteger("dim", dim, 1);
  return { step: 0, m: Array<number>(dim).fill(0), v: Array<number>(dim).fill(0) };
}

/** Checks a state (for example one read back from a journal) against `dim`. */
export function checkAdamState(state: AdamState, dim: number): void {
  if (typeof state !== "object" || state === null) {
    throw new SearchInputError("adam", `\`adam\` must be an object {step, m, v}, got ${String(state)}`);
  }
  requireInteger("adam.step", state.step, 0);
  requireFiniteVector("adam.m", state.m, dim);
  requireFiniteVector("adam.v", state.v, dim);
}

/** One ascent step: mu + lr * mHat / (sqrt(vHat) + eps), in the order of the spec. */
export function adamAscend(
  mu: readonly number[],
  grad: readonly number[],
  state: AdamState,
  lr: number,
): { mu: number[]; adam: AdamState } {
  requireFiniteVector("mu", mu);
  requireFiniteVector("grad", grad, mu.length);
  checkAdamState(state, mu.length);
  requirePositive("lr", lr);
  const step = state.step + 1;
  const correction1 = 1 - ADAM_BETA1 ** step;
  const correction2 = 1 - ADAM_BETA2 ** step;
  const m = state.m.map((previous, d) => ADAM_BETA1 * previous + (1 - ADAM_BETA1) * (grad[d] as number));
  const v = state.v.map((previous, d) => {
    const g = grad[d] as number;
    return ADAM_BETA2 * previous + (1 - ADAM_BETA2) * (g * g);
  });
  const nextMu = mu.map((value, d) => {
    const mHat = (m[d] as number) / correction1;
    const vHat = (v[d] as number) / correction2;
    return value + (lr * mHat) / (Math.sqrt(vHat) + ADAM_EPS);
  });
  return { mu: nextMu, adam: { step, m, v } };
}
