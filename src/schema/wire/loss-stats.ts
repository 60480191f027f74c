/**
 * `lossStats`: how the searched loss acted on the examples of one train task (AM-LFS, Li et
 * al. ICCV 2019, Eq. 15: cross-entropy's gradient on the logits is scaled by
 * c = a_tau p / tau(p), zero where tau is floored, and the target cosine's by a_t, the
 * slope of t there). Counted by the worker (python/amlfs/loss/stats.py), sent in the
 * `result` message and kept per sample in the journal's epoch records.
 */
import { z } from "zod";

/** An example is dead when its factor is below this (c for tau, a_t for t). */
export const DEAD_FACTOR = 0.01;

export const lossStats = z.strictObject({
  examples: z.number().int().min(0).describe("training examples the searched loss saw (all branches, all steps)"),
  flooredShare: z.number().min(0).max(1).describe("share of them where tau was floored (zero gradient)"),
  deadShare: z.number().min(0).max(1).describe("share whose gradient factor c = a_tau p / tau(p) is below 0.01"),
  meanC: z.number().describe("mean gradient factor c (1 under the identity)"),
  tDeadShare: z.number().min(0).max(1).describe("share where t's slope a_t at the target cosine is below 0.01"),
  meanTSlope: z.number().describe("mean slope a_t of t at the target cosines"),
});

export type LossStats = z.infer<typeof lossStats>;
