/**
 * Sampling of the policy (Li et al., ICCV 2019, Sec. 4.1): theta_k ~ N(mu, sigmaStd^2 I),
 * drawn from the generator (seed, stream = epoch) in the order k = 0..B-1, then
 * d = 0..dim-1, so the samples of every epoch follow from the seed alone.
 */
import { SearchInputError } from "./errors.js";
import { Rng } from "./rng.js";
import { requireFiniteVector, requireInteger, requirePositive, requireUint32 } from "./validate.js";

export interface SampleRequest {
  /** Run seed, unsigned 32-bit. */
  seed: number;
  /** 0-based epoch; it is the generator's stream. */
  epoch: number;
  mu: readonly number[];
  /** Standard deviation of every coordinate (not a variance). */
  sigmaStd: number;
  /** Number of samples. */
  B: number;
  /**
   * Which coordinates are sampled (default: all); a held one is mu's value. A normal is
   * drawn for every coordinate either way, so the draws of the others do not shift.
   */
  sampled?: readonly boolean[];
}

export function sampleThetas({ seed, epoch, mu, sigmaStd, B, sampled }: SampleRequest): number[][] {
  requireInteger("B", B, 1);
  requirePositive("sigmaStd", sigmaStd);
  requireFiniteVector("mu", mu);
  requireUint32("epoch", epoch);
  if (sampled !== undefined && sampled.length !== mu.length) {
    throw new SearchInputError("sampled", `\`sampled\` must have one entry per coordinate of mu (${mu.length}), got ${sampled.length}`);
  }
  const rng = Rng.create(seed, epoch);
  const thetas: number[][] = [];
  for (let k = 0; k < B; k++) {
    thetas.push(
      mu.map((center, d) => {
        const noise = sigmaStd * rng.normal();
        return sampled === undefined || sampled[d] === true ? center + noise : center;
      }),
    );
  }
  return thetas;
}
