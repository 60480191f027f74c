/**
 * The curves through pythonia from the Python loss (amlfs.report_curves), checked against
 * the closed forms: identity = cross-entropy (gradient 1 - p), CosFace t(x) = x - m.
 */
import { describe, expect, it } from "vitest";
import { ReportError } from "../../src/report/errors.js";
import { parseCurveAnswer, pythonCurves } from "../../src/report/python-curves.js";
import { SKIP_REASON } from "../integration/python-env.js";

const M = 6;
const block = (value: number) => Array<number>(M).fill(value);

describe.skipIf(SKIP_REASON !== null)(`curves from the Python loss${SKIP_REASON === null ? "" : ` (skipped: ${SKIP_REASON})`}`, () => {
  it("gives cross-entropy for the identity and x - m for CosFace", async () => {
    const request = {
      M,
      thetas: { identity: [...block(1), ...block(0), ...block(1), ...block(0)], cosface: [...block(1), ...block(-0.35), ...block(1), ...block(0)] },
      gridPoints: 21,
      numClasses: 5,
      scale: 8,
    };
    const answer = await pythonCurves(request, { timeoutMs: 60_000 });
    expect(answer.setting).toEqual({ M, gridPoints: 21, numClasses: 5, scale: 8 });
    const identity = answer.curves.identity;
    const cosface = answer.curves.cosface;
    if (identity === undefined || cosface === undefined) throw new Error("curves missing");
    identity.x.forEach((x, i) => {
      expect(identity.t[i]).toBe(x);
      const p = 1 / (1 + 4 * Math.exp(-8 * x)); // softmax of the target, 4 other logits at 0
      expect(identity.gradMagnitude[i]).toBeCloseTo(1 - p, 12);
      expect(cosface.t[i]).toBeCloseTo(x - 0.35, 14);
      expect(cosface.gradMagnitude[i]).toBeCloseTo(1 - 1 / (1 + 4 * Math.exp(-8 * (x - 0.35))), 12);
    });
    identity.p.slice(1).forEach((p, i) => expect(identity.tau[i + 1]).toBeCloseTo(p, 14));
  });
});

describe("when Python is missing", () => {
  it("says so and how to fix it", async () => {
    const request = { M: 1, thetas: { a: [1, 0, 1, 0] } };
    const error = await pythonCurves(request, { python: "/nonexistent/python3", timeoutMs: 5_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReportError);
    expect((error as Error).message).toMatch(/\/nonexistent\/python3 cannot import amlfs\.report_curves .*fix: run `make setup`/);
  });
});

describe("parseCurveAnswer", () => {
  it("names the field of a malformed answer and a missing curve", () => {
    const request = { M: 1, thetas: { a: [1, 0, 1, 0] } };
    expect(() => parseCurveAnswer("nope", request)).toThrow(/not JSON/);
    expect(() => parseCurveAnswer('{"setting": {"M": 1, "gridPoints": 2, "numClasses": 2, "scale": 1}, "curves": {}}', request)).toThrow(
      /expected a curve named "a"/,
    );
    expect(() => parseCurveAnswer('{"setting": {"M": "1"}, "curves": {}}', request)).toThrow(/field `setting.M`/);
  });
});
