/** Float comparison for tests: relative tolerance with an absolute floor, exact for non-finite. */
import { expect } from "vitest";

export interface Tolerance {
  rel?: number;
  abs?: number;
}

const DEFAULT_REL = 1e-12;
const DEFAULT_ABS = 1e-15;

function mismatch(actual: unknown, expected: unknown, where: string, tolerance: Tolerance): string | null {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${where}: expected an array, got ${String(actual)}`;
    if (actual.length !== expected.length) {
      return `${where}: expected length ${expected.length}, got ${actual.length}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const inner = mismatch(actual[i], expected[i], `${where}[${i}]`, tolerance);
      if (inner !== null) return inner;
    }
    return null;
  }
  if (typeof expected === "number") {
    if (typeof actual !== "number") return `${where}: expected ${expected}, got ${String(actual)}`;
    if (!Number.isFinite(expected)) {
      return Object.is(actual, expected) ? null : `${where}: expected ${expected}, got ${actual}`;
    }
    const allowed = Math.max((tolerance.rel ?? DEFAULT_REL) * Math.abs(expected), tolerance.abs ?? DEFAULT_ABS);
    const error = Math.abs(actual - expected);
    return error <= allowed ? null : `${where}: expected ${expected}, got ${actual} (|diff| ${error} > ${allowed})`;
  }
  return Object.is(actual, expected) ? null : `${where}: expected ${String(expected)}, got ${String(actual)}`;
}

/** Asserts that numbers (or nested arrays of numbers, null and booleans) agree within tolerance. */
export function expectClose(actual: unknown, expected: unknown, tolerance: Tolerance = {}, where = "value"): void {
  const problem = mismatch(actual, expected, where, tolerance);
  expect(problem, problem ?? "").toBeNull();
}

/** Asserts that `run` throws an error whose message names `field`. */
export function expectThrowsNaming(run: () => unknown, field: string): Error {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected an error naming \`${field}\``).toBeInstanceOf(Error);
  expect((thrown as Error).message).toContain(field);
  return thrown as Error;
}
