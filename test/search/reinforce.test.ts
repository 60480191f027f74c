import { describe, expect, it } from "vitest";
import { adamInit, type AdamState } from "../../src/search/adam.js";
import { policyUpdate, reinforceDirection } from "../../src/search/reinforce.js";
import { sampleThetas } from "../../src/search/sample.js";
import { expectClose, expectThrowsNaming } from "../helpers/close.js";
import { invalidCases, readVectors, validCases, type VectorCase } from "../helpers/vectors.js";

interface UpdateCase extends VectorCase {
  mu: number[];
  sigmaStd: number;
  lr: number;
  thetas: number[][];
  rewards: (number | null)[];
  adam: AdamState;
  direction?: number[];
  applied?: boolean;
  muAfter?: number[];
  adamAfter?: AdamState;
}

const vectors = readVectors<UpdateCase>("policy/update.json");

function request(c: UpdateCase) {
  return { mu: c.mu, sigmaStd: c.sigmaStd, lr: c.lr, thetas: c.thetas, rewards: c.rewards, adam: c.adam };
}

describe("policy/update.json vectors", () => {
  it.each(validCases(vectors).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const got = policyUpdate(request(c));
    expectClose(got.direction, c.direction, { rel: 1e-12, abs: 1e-13 }, "direction");
    expect(got.applied).toBe(c.applied);
    expectClose(got.mu, c.muAfter, { rel: 1e-12, abs: 1e-15 }, "mu");
    expect(got.adam.step).toBe(c.adamAfter!.step);
    expectClose(got.adam.m, c.adamAfter!.m, { rel: 1e-12, abs: 1e-14 }, "adam.m");
    expectClose(got.adam.v, c.adamAfter!.v, { rel: 1e-12, abs: 1e-15 }, "adam.v");
  });

  it.each(invalidCases(vectors).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expectThrowsNaming(() => policyUpdate(request(c)), c.error!.field);
  });
});

describe("reinforceDirection", () => {
  it("matches a hand-computed case", () => {
    // mu = [0, 1], sigmaStd = 0.5 (variance 0.25), two finished samples and one failed:
    // g = (1/2) * [1 * ([0.5, 1] - mu) + (-1) * ([0, 0] - mu)] / 0.25 = [1, 2].
    const direction = reinforceDirection({
      mu: [0, 1],
      sigmaStd: 0.5,
      thetas: [
        [0.5, 1],
        [9, 9],
        [0, 0],
      ],
      normalized: [1, null, -1],
    });
    expectClose(direction, [1, 2], { rel: 1e-15 });
  });

  it("is zero when nothing finished", () => {
    expect(reinforceDirection({ mu: [1, 2], sigmaStd: 1, thetas: [[0, 0]], normalized: [null] })).toEqual([0, 0]);
  });
});

describe("policyUpdate", () => {
  const mu = [0.5, -0.5];
  const thetas = [
    [0.6, -0.4],
    [0.3, -0.7],
  ];

  it("skips the update when the rewards carry no information, keeping the Adam state", () => {
    const adam: AdamState = { step: 3, m: [0.2, -0.1], v: [0.01, 0.02] };
    const got = policyUpdate({ mu, sigmaStd: 0.2, lr: 0.05, thetas, rewards: [0.7, 0.7], adam });
    expect(got.applied).toBe(false);
    expect(got.mu).toEqual(mu);
    expect(got.adam).toEqual(adam);
    expect(got.adam).not.toBe(adam);
    expect(got.best).toBe(0);
  });

  it("names the offending input", () => {
    const adam = adamInit(2);
    expectThrowsNaming(() => policyUpdate({ mu, sigmaStd: 0.2, lr: 0.05, thetas: [[1]], rewards: [1], adam }), "thetas[0]");
    expectThrowsNaming(() => policyUpdate({ mu, sigmaStd: 0.2, lr: -1, thetas, rewards: [1, 2], adam }), "lr");
    expectThrowsNaming(() => policyUpdate({ mu, sigmaStd: 0.2, lr: 0.1, thetas, rewards: [1], adam }), "rewards");
    expectThrowsNaming(() => policyUpdate({ mu, sigmaStd: 0.2, lr: 0.1, thetas, rewards: [1, 2], adam: adamInit(3) }), "adam");
  });

  it("moves mu toward the optimum of a quadratic reward", () => {
    // R(theta) = -|theta - target|^2: the expected REINFORCE direction points to target.
    const target = [0.8, -0.3, 1.5, 0.2];
    const distance = (point: readonly number[]): number =>
      Math.sqrt(point.reduce((sum, value, d) => sum + (value - target[d]!) ** 2, 0));
    let current = [0, 0, 0, 0];
    let adam = adamInit(4);
    const start = distance(current);
    for (let epoch = 0; epoch < 150; epoch++) {
      const samples = sampleThetas({ seed: 17, epoch, mu: current, sigmaStd: 0.2, B: 16 });
      const rewards = samples.map((theta) => -(distance(theta) ** 2));
      ({ mu: current, adam } = policyUpdate({ mu: current, sigmaStd: 0.2, lr: 0.05, thetas: samples, rewards, adam }));
    }
    expect(start).toBeGreaterThan(1.7);
    expect(distance(current)).toBeLessThan(0.2);
  });
});
