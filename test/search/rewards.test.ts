import { describe, expect, it } from "vitest";
import { normalizeRewards } from "../../src/search/rewards.js";
import { expectClose } from "../helpers/close.js";
import { readVectors, validCases, type VectorCase } from "../helpers/vectors.js";

interface RewardsCase extends VectorCase {
  rewards: (number | null)[];
  normalized: (number | null)[];
  finished: number;
  informative: boolean;
  best: number | null;
}

const vectors = readVectors<RewardsCase>("policy/rewards.json");

describe("policy/rewards.json vectors", () => {
  it.each(validCases(vectors).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const got = normalizeRewards(c.rewards);
    expectClose(got.normalized, c.normalized, { rel: 1e-12, abs: 1e-14 }, "normalized");
    expect(got.finished).toBe(c.finished);
    expect(got.informative).toBe(c.informative);
    expect(got.best).toBe(c.best);
  });
});

describe("normalizeRewards", () => {
  it("gives zero mean and unit population variance over the finished samples", () => {
    const got = normalizeRewards([3, null, 1, Number.NaN, 2, 6]);
    const finished = got.normalized.filter((v): v is number => v !== null);
    expect(finished).toHaveLength(4);
    const mean = finished.reduce((s, v) => s + v, 0) / 4;
    const variance = finished.reduce((s, v) => s + (v - mean) ** 2, 0) / 4;
    expectClose(mean, 0, { abs: 1e-15 });
    expectClose(variance, 1, { rel: 1e-14 });
    // Hand-computed: mean 3, population std sqrt(3.5).
    expectClose(got.normalized, [0, null, -2 / Math.sqrt(3.5), null, -1 / Math.sqrt(3.5), 3 / Math.sqrt(3.5)], {
      rel: 1e-15,
    });
    expect(got.best).toBe(5);
  });

  it("treats -Infinity as not finished and has no best for an empty list", () => {
    expect(normalizeRewards([-Infinity, 1]).finished).toBe(1);
    expect(normalizeRewards([])).toEqual({ normalized: [], finished: 0, informative: false, best: null });
  });
});
