import { describe, expect, it } from "vitest";
import { adamAscend, adamInit } from "../../src/search/adam.js";
import { expectClose, expectThrowsNaming } from "../helpers/close.js";

/** Independent reference: textbook Adam written as one loop, ascending. */
function referenceAdam(mu0: number[], grads: number[][], lr: number): number[] {
  const mu = [...mu0];
  const m = mu.map(() => 0);
  const v = mu.map(() => 0);
  for (let t = 1; t <= grads.length; t++) {
    const g = grads[t - 1]!;
    for (let d = 0; d < mu.length; d++) {
      m[d] = 0.9 * m[d]! + 0.1 * g[d]!;
      v[d] = 0.999 * v[d]! + 0.001 * g[d]! ** 2;
      const mHat = m[d]! / (1 - Math.pow(0.9, t));
      const vHat = v[d]! / (1 - Math.pow(0.999, t));
      mu[d] = mu[d]! + (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
    }
  }
  return mu;
}

describe("adamAscend", () => {
  it("matches a plain Adam loop over several steps", () => {
    const grads = [
      [0.5, -2, 0, 1e-3],
      [0.4, -1, 3, -1e-3],
      [-0.2, 0.5, 1, 2],
    ];
    let mu = [1, 0, -1, 0.5];
    let state = adamInit(4);
    for (const g of grads) ({ mu, adam: state } = adamAscend(mu, g, state, 0.05));
    expect(state.step).toBe(3);
    expectClose(mu, referenceAdam([1, 0, -1, 0.5], grads, 0.05), { rel: 1e-14, abs: 1e-15 });
  });

  it("takes a first step of about lr in the sign of the gradient", () => {
    const { mu } = adamAscend([0, 0], [3, -0.01], adamInit(2), 0.05);
    expectClose(mu, [0.05, -0.05], { rel: 1e-5 });
  });

  it("does not mutate its inputs and keeps a plain JSON state", () => {
    const mu = [1, 2];
    const state = adamInit(2);
    const before = JSON.stringify({ mu, state });
    const next = adamAscend(mu, [1, 1], state, 0.1);
    expect(JSON.stringify({ mu, state })).toBe(before);
    expect(JSON.parse(JSON.stringify(next.adam))).toEqual(next.adam);
  });

  it("rejects mismatched inputs by name", () => {
    expectThrowsNaming(() => adamAscend([1, 2], [1], adamInit(2), 0.1), "grad");
    expectThrowsNaming(() => adamAscend([1, 2], [1, 1], adamInit(3), 0.1), "adam.m");
    expectThrowsNaming(() => adamAscend([1, 2], [1, 1], adamInit(2), 0), "lr");
  });
});
