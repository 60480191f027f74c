import { describe, expect, it } from "vitest";
import { validityReport } from "../../src/search/validity.js";
import { TAU_FLOOR, identity } from "../../src/search/space.js";
import { expectClose, expectThrowsNaming } from "../helpers/close.js";
import { readVectors, type VectorCase } from "../helpers/vectors.js";

interface LossCase extends VectorCase {
  M: number;
  theta: number[];
  validity?: {
    tauMin: number;
    tauFlooredFraction: number;
    negativeSlopesT: number;
    negativeSlopesTau: number;
  };
}

const vectors = readVectors<LossCase>("loss/searched_softmax.json");
const withValidity = vectors.cases.filter((c) => c.valid && c.validity !== undefined);
const thetaErrors = vectors.cases.filter((c) => !c.valid && c.error?.field === "theta");

describe("loss/searched_softmax.json validity blocks", () => {
  it("the file carries validity blocks and TAU_FLOOR", () => {
    expect(withValidity.length).toBeGreaterThan(0);
    expect(vectors.tauFloor).toBe(TAU_FLOOR);
  });

  it.each(withValidity.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const got = validityReport(c.theta, c.M);
    const expected = c.validity!;
    expectClose(got.tauMin, expected.tauMin, {}, "tauMin");
    expectClose(got.tauFlooredFraction, expected.tauFlooredFraction, { rel: 1e-12, abs: 1e-15 }, "tauFlooredFraction");
    expect(got.negativeSlopesT).toBe(expected.negativeSlopesT);
    expect(got.negativeSlopesTau).toBe(expected.negativeSlopesTau);
  });

  it.each(thetaErrors.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expectThrowsNaming(() => validityReport(c.theta, c.M), "theta");
  });
});

/** Independent reference: the floored measure by a fine midpoint grid over [0, 1]. */
function flooredFractionByGrid(theta: number[], M: number, steps: number): number {
  let count = 0;
  for (let j = 0; j < steps; j++) {
    const p = (j + 0.5) / steps;
    const i = Math.min(Math.floor(p * M), M - 1);
    const a = theta[2 * M + i]!;
    const b = theta[3 * M + i]!;
    if (!(a > 0 && b >= 0) && a * p + b < TAU_FLOOR) count++;
  }
  return count / steps;
}

describe("validityReport", () => {
  it("reports nothing floored for the identity", () => {
    expect(validityReport(identity(6), 6)).toEqual({
      tauMin: 0,
      tauFlooredFraction: 0,
      negativeSlopesT: 0,
      negativeSlopesTau: 0,
    });
  });

  it("agrees with a grid count on mixed pieces", () => {
    const M = 4;
    const theta = [1, -1, 1, -2, 0, 0, 0, 0, 2, -1, 0, 1, -0.3, 0.6, -0.01, 0];
    const got = validityReport(theta, M);
    expectClose(got.tauFlooredFraction, flooredFractionByGrid(theta, M, 400_000), { abs: 1e-5 });
    expect(got.negativeSlopesT).toBe(2);
    expect(got.negativeSlopesTau).toBe(1);
    // Pieces at their end points: [-0.3, 0.2], [0.35, 0.1], [-0.01, -0.01], [0.75, 0].
    expectClose(got.tauMin, -0.3, { rel: 1e-15 });
  });
});
