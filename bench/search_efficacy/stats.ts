/** Summary statistics of bench/search_efficacy.ts: means, sample standard deviations, paired comparisons by seed. */

/** The arithmetic mean; NaN for no values. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** The sample standard deviation (divides by n - 1); NaN for fewer than 2 values. */
export function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return Number.NaN;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, value) => sum + (value - m) ** 2, 0) / (values.length - 1));
}

/** `a` against `b` on the seeds both have: wins, ties and losses of `a`, and the differences `a - b`. */
export interface Paired {
  wins: number;
  ties: number;
  losses: number;
  /** Seeds compared (both runs finished). */
  n: number;
  meanDiff: number;
  stdDiff: number;
}

/**
 * Paired by seed. Values within `tieTolerance` of each other tie (top-1 values are counts over
 * the same test split, so equal counts give equal values up to rounding: the default 1e-9).
 */
export function paired(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>, tieTolerance = 1e-9): Paired {
  const diffs = [...a].flatMap(([seed, value]) => {
    const other = b.get(seed);
    return other === undefined ? [] : [value - other];
  });
  return {
    wins: diffs.filter((d) => d > tieTolerance).length,
    ties: diffs.filter((d) => Math.abs(d) <= tieTolerance).length,
    losses: diffs.filter((d) => d < -tieTolerance).length,
    n: diffs.length,
    meanDiff: mean(diffs),
    stdDiff: sampleStd(diffs),
  };
}

/** Seeds as "1-5", "1,3,5" or "1-3,7": unsigned 32-bit integers, each once, in the order given. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(",")) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (match === null || to < from || to > 2 ** 32 - 1) {
      throw new Error(`--seeds ${JSON.stringify(text)}: expected seeds like "1-5", "1,3,5" or "1-3,7", got ${JSON.stringify(part)}`);
    }
    for (let seed = from; seed <= to; seed += 1) if (!seeds.includes(seed)) seeds.push(seed);
  }
  return seeds;
}
