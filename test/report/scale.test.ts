import { describe, expect, it } from "vitest";
import { formatTick, linearScale, niceDomain, niceStep, niceTicks } from "../../src/report/scale.js";

describe("linearScale", () => {
  it("maps the domain onto the range by the affine formula", () => {
    const scale = linearScale([-1, 1], [100, 300]);
    for (const x of [-1, -0.5, 0, 0.3, 1, 2]) expect(scale(x)).toBeCloseTo(100 + ((x + 1) / 2) * 200, 12);
  });

  it("flips with a reversed range (SVG y grows downwards)", () => {
    const scale = linearScale([0, 10], [250, 50]);
    expect(scale(0)).toBe(250);
    expect(scale(10)).toBe(50);
    expect(scale(2.5)).toBe(200);
  });

  it("puts everything in the middle for a degenerate domain, and rejects non-finite bounds", () => {
    expect(linearScale([3, 3], [0, 100])(3)).toBe(50);
    expect(() => linearScale([0, Number.NaN], [0, 1])).toThrow(/finite domain/);
  });
});

describe("ticks", () => {
  it("picks 1, 2 or 5 times a power of ten", () => {
    expect(niceStep(1, 5)).toBe(0.2);
    expect(niceStep(2, 5)).toBe(0.5);
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(0.003, 5)).toBeCloseTo(0.0005, 15);
    expect(niceStep(700, 5)).toBe(100);
  });

  it("gives multiples of the step inside the interval, without float noise", () => {
    expect(niceTicks(-1, 1, 5)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.05, 0.97, 5)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(0, 9, 5)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(-0.37, 1.91, 7)).toEqual([0, 0.5, 1, 1.5]); // 2.28 / 7 = 0.33 -> step 0.5
  });

  it("widens a domain to whole steps and pads a single value", () => {
    expect(niceDomain([0.03, 0.97])).toEqual([0, 1]);
    expect(niceDomain([-0.6, 1.1])).toEqual([-1, 1.5]); // step 0.5 (1.7 / 5 = 0.34 -> 0.5)
    expect(niceDomain([1, 1])).toEqual([0, 2]);
    expect(niceDomain([])).toEqual([0, 1]);
    expect(niceDomain([Number.NaN, 2, 4])).toEqual([2, 4]);
  });

  it("formats labels with the decimals the step needs", () => {
    expect(formatTick(0.5, 0.5)).toBe("0.5");
    expect(formatTick(0.25, 0.05)).toBe("0.25");
    expect(formatTick(4, 2)).toBe("4");
    expect(formatTick(0, 0.1)).toBe("0");
    expect(formatTick(1, 0.2)).toBe("1.0"); // the decimals of the step, as every tick of the axis
    expect(formatTick(1e-6, 1e-6)).toBe("1.0e-6");
  });
});
