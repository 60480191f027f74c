import { describe, expect, it } from "vitest";
import { checkInitInSpace, lossTheta, sampledCoordinates, tauForm } from "../../src/search/space-form.js";
import { cosineMargin, identity } from "../../src/search/space.js";
import { expectThrowsNaming } from "../helpers/close.js";

describe("space forms", () => {
  const M = 3;
  // [a_t (3), b_t (3), a_tau (3), b_tau (3)], with negative slopes and a non-zero b_tau[0]
  const theta = [-0.5, 1.2, 0.9, -0.1, 0.2, 0.3, 0.8, -1.1, 1.05, 0.25, -0.2, 0.4];

  it("paper trains the sample as drawn", () => {
    expect(lossTheta(theta, M, "paper")).toEqual(theta);
    expect(sampledCoordinates("paper", M).every(Boolean)).toBe(true);
  });

  it("anchored takes |a| for every slope and tau(0) = 0, and leaves the biases of t and tau's other pieces", () => {
    expect(lossTheta(theta, M, "anchored")).toEqual([0.5, 1.2, 0.9, -0.1, 0.2, 0.3, 0.8, 1.1, 1.05, 0, -0.2, 0.4]);
    expect(sampledCoordinates("anchored", M)).toEqual([...Array(9).fill(true), false, true, true]);
  });

  it("power takes |a| for every slope, holds every b_tau at 0 and asks the loss for a power tau", () => {
    expect(lossTheta(theta, M, "power")).toEqual([0.5, 1.2, 0.9, -0.1, 0.2, 0.3, 0.8, 1.1, 1.05, 0, 0, 0]);
    expect(sampledCoordinates("power", M)).toEqual([...Array(9).fill(true), false, false, false]);
    expect([tauForm("power"), tauForm("anchored"), tauForm("paper")]).toEqual(["power", "linear", "linear"]);
  });

  it("the identity and CosFace points are the same theta in every form", () => {
    for (const point of [identity(M), cosineMargin(M, 0.35)]) {
      expect(lossTheta(point, M, "anchored")).toEqual(lossTheta(point, M, "paper"));
      expect(lossTheta(point, M, "power")).toEqual(lossTheta(point, M, "paper"));
    }
  });

  it("mu_0 must be 0 on the coordinates a form holds", () => {
    const bent = [...identity(M)];
    bent[3 * M + 1] = 0.2; // b_tau[1]: sampled under anchored, held under power
    expect(() => checkInitInSpace(bent, M, "anchored")).not.toThrow();
    expectThrowsNaming(() => checkInitInSpace(bent, M, "power"), "init");
    expect(() => checkInitInSpace(bent, M, "paper")).not.toThrow();
  });

  it("checks theta by name", () => {
    expectThrowsNaming(() => lossTheta([1, 2, 3], M, "anchored"), "theta");
  });
});
