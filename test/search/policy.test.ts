import { describe, expect, it } from "vitest";
import { createPolicy, finishEpoch, initialMu, planEpoch, type PolicyConfig } from "../../src/search/policy.js";
import { sampleThetas } from "../../src/search/sample.js";
import { cosineMargin, identity } from "../../src/search/space.js";
import { expectThrowsNaming } from "../helpers/close.js";

const base: PolicyConfig = {
  mode: "amlfs",
  M: 2,
  B: 4,
  sigmaStd: 0.2,
  lr: 0.05,
  seed: 3,
  init: { kind: "identity" },
  space: "paper",
};

describe("initialMu", () => {
  it("builds each init kind", () => {
    expect(initialMu({ kind: "identity" }, 3)).toEqual(identity(3));
    expect(initialMu({ kind: "cosineMargin", margin: 0.4 }, 3)).toEqual(cosineMargin(3, 0.4));
    const theta = [1, 2, 3, 4, 5, 6, 7, 8];
    const mu = initialMu({ kind: "theta", theta }, 2);
    expect(mu).toEqual(theta);
    expect(mu).not.toBe(theta);
  });

  it("rejects an explicit theta of the wrong length", () => {
    expectThrowsNaming(() => initialMu({ kind: "theta", theta: [1, 2, 3] }, 2), "theta");
  });
});

describe("modes", () => {
  it("amlfs samples B thetas per epoch and updates mu", () => {
    const state = createPolicy(base);
    const thetas = planEpoch(state, 0);
    expect(thetas).toEqual(sampleThetas({ seed: 3, epoch: 0, mu: identity(2), sigmaStd: 0.2, B: 4 }));
    const outcome = finishEpoch(state, thetas, [0.1, 0.4, null, 0.2]);
    expect(outcome.applied).toBe(true);
    expect(outcome.best).toBe(1);
    expect(outcome.state.mu).not.toEqual(state.mu);
    expect(outcome.state.adam.step).toBe(1);
    expect(state.adam.step).toBe(0);
  });

  it("fixed samples around the initial mu and never updates", () => {
    const state = createPolicy({ ...base, mode: "fixed", init: { kind: "cosineMargin", margin: 0.3 } });
    const outcome = finishEpoch(state, planEpoch(state, 0), [0.1, 0.4, 0.3, 0.2]);
    expect(outcome.applied).toBe(false);
    expect(outcome.best).toBe(1);
    expect(outcome.state).toEqual(state);
    expect(planEpoch(outcome.state, 1)).toEqual(
      sampleThetas({ seed: 3, epoch: 1, mu: cosineMargin(2, 0.3), sigmaStd: 0.2, B: 4 }),
    );
  });

  it("power is the default and holds every b_tau at mu's value", () => {
    const { space: _paper, ...config } = base;
    const power = createPolicy(config);
    expect(power.space).toBe("power");
    const paper = planEpoch(createPolicy(base), 0);
    planEpoch(power, 0).forEach((theta, k) => {
      theta.forEach((value, d) => expect(value).toBe(d >= 3 * base.M ? 0 : paper[k]![d]));
    });
  });

  it("anchored holds b_tau[0] at mu's value and draws the other coordinates as paper does", () => {
    const anchored = createPolicy({ ...base, space: "anchored" });
    const paper = planEpoch(createPolicy(base), 0);
    const held = planEpoch(anchored, 0);
    held.forEach((theta, k) => {
      theta.forEach((value, d) => expect(value).toBe(d === 3 * base.M ? 0 : paper[k]![d]));
    });
    const outcome = finishEpoch(anchored, held, [0.1, 0.4, 0.3, 0.2]);
    expect(outcome.state.mu[3 * base.M]).toBe(0);
    expect(outcome.state.mu[3 * base.M + 1]).not.toBe(0);
  });

  it("anchored refuses a mu_0 with b_tau[0] != 0, paper takes it", () => {
    const theta = [...identity(2)];
    theta[6] = 0.1;
    expectThrowsNaming(() => createPolicy({ ...base, space: "anchored", init: { kind: "theta", theta } }), "init");
    expect(createPolicy({ ...base, init: { kind: "theta", theta } }).mu).toEqual(theta);
    expectThrowsNaming(() => createPolicy({ ...base, space: "curved" as "paper" }), "space");
  });

  it("baseline runs mu_0 once per epoch", () => {
    const state = createPolicy({ ...base, mode: "baseline", B: 1 });
    expect(planEpoch(state, 0)).toEqual([identity(2)]);
    const outcome = finishEpoch(state, [identity(2)], [0.5]);
    expect(outcome).toEqual({ state, best: 0, normalized: [0], applied: false });
    expectThrowsNaming(() => createPolicy({ ...base, mode: "baseline", B: 4 }), "B");
  });

  it("survives a JSON round trip mid-run and then plans the same epoch", () => {
    let state = createPolicy(base);
    for (let epoch = 0; epoch < 3; epoch++) {
      const thetas = planEpoch(state, epoch);
      state = finishEpoch(state, thetas, thetas.map((theta) => -Math.abs(theta[0]! - 1.3))).state;
    }
    const restored = JSON.parse(JSON.stringify(state)) as typeof state;
    expect(restored).toEqual(state);
    expect(planEpoch(restored, 3)).toEqual(planEpoch(state, 3));
  });

  it("validates its configuration by name", () => {
    expectThrowsNaming(() => createPolicy({ ...base, sigmaStd: 0 }), "sigmaStd");
    expectThrowsNaming(() => createPolicy({ ...base, lr: Number.NaN }), "lr");
    expectThrowsNaming(() => createPolicy({ ...base, seed: -1 }), "seed");
    expectThrowsNaming(() => createPolicy({ ...base, M: 0 }), "M");
    expectThrowsNaming(() => createPolicy({ ...base, mode: "grid" as never }), "mode");
    const state = createPolicy(base);
    expectThrowsNaming(() => finishEpoch(state, planEpoch(state, 0), [1]), "rewards");
  });
});
