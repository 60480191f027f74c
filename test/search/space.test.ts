import { describe, expect, it } from "vitest";
import {
  TAU_FLOOR,
  checkTheta,
  cosineMargin,
  dim,
  evalT,
  evalTau,
  identity,
  intervalT,
  intervalTau,
  logTauEffective,
  split,
} from "../../src/search/space.js";
import { SearchInputError } from "../../src/search/errors.js";
import { expectClose, expectThrowsNaming } from "../helpers/close.js";
import { invalidCases, readVectors, validCases, type VectorCase } from "../helpers/vectors.js";

interface PiecewiseCase extends VectorCase {
  M: number;
  theta: number[];
  fn: "t" | "tau" | "logTau";
  x: number;
  interval?: number;
  value?: number;
  floored?: boolean;
  c?: number;
}

const vectors = readVectors<PiecewiseCase>("space/piecewise.json");

function evaluate(c: PiecewiseCase): Record<string, unknown> {
  if (c.fn === "t") return { ...evalT(c.theta, c.M, c.x) };
  if (c.fn === "tau") return { ...evalTau(c.theta, c.M, c.x) };
  return { ...logTauEffective(c.theta, c.M, c.x) };
}

describe("space/piecewise.json vectors", () => {
  it.each(validCases(vectors).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const got = evaluate(c);
    expect(got.interval).toBe(c.interval);
    expectClose(got.value, c.value, {}, "value");
    if (c.fn === "logTau") {
      expect(got.floored).toBe(c.floored);
      expectClose(got.c, c.c, {}, "c");
    }
  });

  it.each(invalidCases(vectors).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const error = expectThrowsNaming(() => evaluate(c), c.error?.field ?? "?");
    expect(error).toBeInstanceOf(SearchInputError);
    expect((error as SearchInputError).field).toBe(c.error?.field);
  });
});

describe("layout", () => {
  it("identity and cosine margin follow [a_t, b_t, a_tau, b_tau]", () => {
    expect(dim(3)).toBe(12);
    expect(identity(2)).toEqual([1, 1, 0, 0, 1, 1, 0, 0]);
    expect(cosineMargin(2, 0.35)).toEqual([1, 1, -0.35, -0.35, 1, 1, 0, 0]);
    expect(split([1, 2, 3, 4, 5, 6, 7, 8], 2)).toEqual({ aT: [1, 2], bT: [3, 4], aTau: [5, 6], bTau: [7, 8] });
  });

  it("rejects a bad theta, naming `theta` and the index", () => {
    expect(() => checkTheta([1, 2, 3], 1)).toThrow("`theta` must have length 4 * M = 4 (M = 1), got length 3");
    expect(() => checkTheta([1, 2, Infinity, 4], 1)).toThrow("`theta[2]` must be a finite number, got Infinity");
    expect(() => dim(0)).toThrow("`M` must be an integer >= 1, got 0");
    expect(() => cosineMargin(2, Number.NaN)).toThrow("`margin`");
  });
});

describe("intervals", () => {
  it("edges belong to the interval on their right, the domain's right end to the last", () => {
    const M = 4;
    // Written independently: the edges of t are at x = -1 + 2j/M.
    expect([-1, -0.5, 0, 0.5, 1].map((x) => intervalT(x, M))).toEqual([0, 1, 2, 3, 3]);
    expect([0, 0.25, 0.5, 0.75, 1].map((p) => intervalTau(p, M))).toEqual([0, 1, 2, 3, 3]);
    expect(intervalT(-0.5000000000000001, M)).toBe(0);
    expect(intervalTau(0.24999999999999997, M)).toBe(0);
  });

  it("clamps the index outside the domain and extrapolates the end piece", () => {
    const theta = [1, 2, 0, 10, 1, 1, 0, 0];
    expect(evalT(theta, 2, 1.5)).toEqual({ interval: 1, value: 2 * 1.5 + 10 });
    expect(evalT(theta, 2, -3)).toEqual({ interval: 0, value: -3 });
    expect(intervalTau(-0.1, 2)).toBe(0);
  });
});

describe("logTauEffective", () => {
  it("is exactly log p under the identity, for any p, with c = 1", () => {
    for (const logP of [0, -1e-12, -0.5, -30, -690.7755, -745, -1e4]) {
      const got = logTauEffective(identity(6), 6, logP);
      expect(got.value).toBe(logP);
      expect(got.floored).toBe(false);
      if (logP > -700) expect(got.c).toBe(1);
    }
  });

  it("computes a positive piece in the log domain: log(a p + b)", () => {
    const M = 1;
    const theta = [1, 0, 2, 0.5];
    const logP = Math.log(0.3);
    const got = logTauEffective(theta, M, logP);
    expectClose(got.value, Math.log(2 * 0.3 + 0.5), { rel: 1e-15 });
    expectClose(got.c, (2 * 0.3) / (2 * 0.3 + 0.5), { rel: 1e-14 });
    expect(got.floored).toBe(false);
  });

  it("floors a non-positive piece below TAU_FLOOR with c = 0", () => {
    const theta = [1, 0, 1, -0.5];
    const below = logTauEffective(theta, 1, Math.log(0.25));
    expect(below).toEqual({ interval: 0, value: Math.log(TAU_FLOOR), floored: true, c: 0 });
    const above = logTauEffective(theta, 1, Math.log(0.75));
    expect(above.floored).toBe(false);
    expectClose(above.value, Math.log(0.25), { rel: 1e-15 });
    expectClose(above.c, 0.75 / 0.25, { rel: 1e-15 });
  });

  it("uses a negative slope as given while tau stays above the floor", () => {
    const got = logTauEffective([1, 0, -1, 1], 1, Math.log(0.5));
    expectClose(got.value, Math.log(0.5), { rel: 1e-15 });
    expectClose(got.c, -1, { rel: 1e-15 });
  });
});
