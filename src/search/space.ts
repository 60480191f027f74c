/**
 * The search space of AM-LFS (Li et al., ICCV 2019, Eq. 15-17), laid out as in
 * docs/algorithm.md:
 *
 *   theta = [a_t (M), b_t (M), a_tau (M), b_tau (M)]   (length 4M)
 *
 * `t(x) = a_t[i] x + b_t[i]` acts on the target cosine x in [-1, 1], `tau(p) =
 * a_tau[i] p + b_tau[i]` on the target probability p in [0, 1]; both use M equal
 * intervals, clamped at the ends (outside the domain the end piece extrapolates).
 */
import { SearchInputError, describeValue } from "./errors.js";
import { requireFiniteVector, requireInteger } from "./validate.js";

/** Below this, `tau` on a non-positive piece is floored (docs/algorithm.md, validity policy). */
export const TAU_FLOOR = 1e-6;
const LOG_TAU_FLOOR = Math.log(TAU_FLOOR);

export interface ThetaParts {
  aT: number[];
  bT: number[];
  aTau: number[];
  bTau: number[];
}

export interface PieceValue {
  /** 0-based interval index. */
  interval: number;
  value: number;
}

export interface LogTauValue extends PieceValue {
  /** True where `tau` was raised to TAU_FLOOR (non-positive pieces only). */
  floored: boolean;
  /** `a_tau p / tau(p)`, the factor of the hand-written gradient; 0 where floored. */
  c: number;
}

function checkM(M: number): number {
  return requireInteger("M", M, 1);
}

/** Length of theta for M intervals. */
export function dim(M: number): number {
  return 4 * checkM(M);
}

/** theta with every a_t, b_t, a_tau, b_tau set to the given constants. */
function blocks(M: number, aT: number, bT: number, aTau: number, bTau: number): number[] {
  return [aT, bT, aTau, bTau].flatMap((value) => Array<number>(M).fill(value));
}

/** Plain softmax cross-entropy: t(x) = x, tau(p) = p. */
export function identity(M: number): number[] {
  checkM(M);
  return blocks(M, 1, 0, 1, 0);
}

/** CosFace / AM-softmax: t(x) = x - margin (margin in cosine units), tau the identity. */
export function cosineMargin(M: number, margin: number): number[] {
  checkM(M);
  if (!Number.isFinite(margin)) {
    const given = describeValue(margin);
    throw new SearchInputError("margin", `\`margin\` must be a finite number (cosine units), got ${given}`);
  }
  return blocks(M, 1, -margin, 1, 0);
}

/** Checks that theta has length 4M and finite entries; errors name `theta` and the index. */
export function checkTheta(theta: readonly number[], M: number): void {
  const length = dim(M);
  if (!Array.isArray(theta)) {
    throw new SearchInputError("theta", `\`theta\` must be an array of ${length} numbers, got ${describeValue(theta)}`);
  }
  if (theta.length !== length) {
    throw new SearchInputError(
      "theta",
      `\`theta\` must have length 4 * M = ${length} (M = ${M}), got length ${theta.length}`,
    );
  }
  requireFiniteVector("theta", theta);
}

/** Splits a checked theta into its four blocks of M. */
export function split(theta: readonly number[], M: number): ThetaParts {
  checkTheta(theta, M);
  return {
    aT: theta.slice(0, M),
    bT: theta.slice(M, 2 * M),
    aTau: theta.slice(2 * M, 3 * M),
    bTau: theta.slice(3 * M, 4 * M),
  };
}

function clampIndex(raw: number, M: number): number {
  return Math.min(Math.max(raw, 0), M - 1);
}

function checkX(x: number): void {
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new SearchInputError("x", `\`x\` must be a finite number, got ${describeValue(x)}`);
  }
}

/** Interval of the cosine x: clamp(floor(((x + 1) / 2) * M), 0, M - 1), in this order. */
export function intervalT(x: number, M: number): number {
  checkX(x);
  return clampIndex(Math.floor(((x + 1) / 2) * M), M);
}

/** Interval of the probability p: clamp(floor(p * M), 0, M - 1). */
export function intervalTau(p: number, M: number): number {
  checkX(p);
  return clampIndex(Math.floor(p * M), M);
}

/** t(x) with its interval. */
export function evalT(theta: readonly number[], M: number, x: number): PieceValue {
  checkTheta(theta, M);
  const interval = intervalT(x, M);
  const a = theta[interval] as number;
  const b = theta[M + interval] as number;
  return { interval, value: a * x + b };
}

/** tau(p) with its interval, unfloored (the raw linear piece). */
export function evalTau(theta: readonly number[], M: number, p: number): PieceValue {
  checkTheta(theta, M);
  const interval = intervalTau(p, M);
  const a = theta[2 * M + interval] as number;
  const b = theta[3 * M + interval] as number;
  return { interval, value: a * p + b };
}

/** log(exp(u) + exp(v)), exact when one side is -Infinity. */
function logAddExp(u: number, v: number): number {
  if (u === -Infinity) return v;
  if (v === -Infinity) return u;
  const high = Math.max(u, v);
  return high + Math.log1p(Math.exp(-Math.abs(u - v)));
}

/**
 * The effective log tau of the loss for log p = `logP`, per the validity policy:
 * a positive piece (a > 0, b >= 0) in the log domain, never floored; any other piece
 * computed directly and floored at TAU_FLOOR. `x` in errors is `logP`.
 */
export function logTauEffective(theta: readonly number[], M: number, logP: number): LogTauValue {
  checkTheta(theta, M);
  checkX(logP);
  const p = Math.exp(logP);
  const interval = intervalTau(p, M);
  const a = theta[2 * M + interval] as number;
  const b = theta[3 * M + interval] as number;
  if (a > 0 && b >= 0) {
    const logScaled = Math.log(a) + logP;
    const value = logAddExp(logScaled, b === 0 ? -Infinity : Math.log(b));
    return { interval, value, floored: false, c: Math.exp(logScaled - value) };
  }
  const tau = a * p + b;
  if (tau < TAU_FLOOR) return { interval, value: LOG_TAU_FLOOR, floored: true, c: 0 };
  return { interval, value: Math.log(tau), floored: false, c: (a * p) / tau };
}
