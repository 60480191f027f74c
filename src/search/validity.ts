/**
 * A per-theta summary of the validity policy (docs/algorithm.md), recorded in the
 * journal so a user can see how much of a sampled loss is floored or decreasing.
 */
import { TAU_FLOOR, checkTheta } from "./space.js";

export interface ValidityReport {
  /** Minimum of the unfloored tau over [0, 1]: each piece at its interval's two end points. */
  tauMin: number;
  /** Measure of p in [0, 1] where tau is floored (non-positive pieces with tau < TAU_FLOOR). */
  tauFlooredFraction: number;
  /** Number of negative a_t. */
  negativeSlopesT: number;
  /** Number of negative a_tau. */
  negativeSlopesTau: number;
}

/** Length of the part of [lo, hi] where a p + b < TAU_FLOOR, exact for a linear piece. */
function flooredLength(a: number, b: number, lo: number, hi: number): number {
  if (a === 0) return b < TAU_FLOOR ? hi - lo : 0;
  const crossing = Math.min(Math.max((TAU_FLOOR - b) / a, lo), hi);
  return a > 0 ? crossing - lo : hi - crossing;
}

export function validityReport(theta: readonly number[], M: number): ValidityReport {
  checkTheta(theta, M);
  let tauMin = Infinity;
  let tauFlooredFraction = 0;
  let negativeSlopesT = 0;
  let negativeSlopesTau = 0;
  for (let i = 0; i < M; i++) {
    const aT = theta[i] as number;
    const a = theta[2 * M + i] as number;
    const b = theta[3 * M + i] as number;
    const lo = i / M;
    const hi = (i + 1) / M;
    tauMin = Math.min(tauMin, a * lo + b, a * hi + b);
    if (!(a > 0 && b >= 0)) tauFlooredFraction += flooredLength(a, b, lo, hi);
    if (aT < 0) negativeSlopesT++;
    if (a < 0) negativeSlopesTau++;
  }
  return { tauMin, tauFlooredFraction, negativeSlopesT, negativeSlopesTau };
}
