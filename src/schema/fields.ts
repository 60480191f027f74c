/**
 * Field builders whose validation messages say what is expected in one phrase
 * ("expected an integer >= 1"); the formatter adds what was given.
 */
import { z } from "zod";

export const UINT32_MAX = 0xffff_ffff;

/** An integer >= min (and <= max when given). */
export function integer(min: number, max?: number) {
  const error = max === undefined ? `expected an integer >= ${min}` : `expected an integer in [${min}, ${max}]`;
  const atLeast = z.int({ error }).min(min, { error });
  return max === undefined ? atLeast : atLeast.max(max, { error });
}

/** An unsigned 32-bit integer, as seeds are. */
export function uint32() {
  return integer(0, UINT32_MAX);
}

/** A finite number > 0. */
export function positive() {
  const error = "expected a number > 0";
  return z.number({ error }).gt(0, { error });
}

/** A number in the interval from `low` to `high`, bounds open or closed as named. */
export function between(low: number, high: number, bounds: "open" | "closedOpen") {
  const error = `expected a number in ${bounds === "open" ? "(" : "["}${low}, ${high})`;
  const number = z.number({ error });
  return (bounds === "open" ? number.gt(low, { error }) : number.gte(low, { error })).lt(high, { error });
}

/** Lowercase letters, digits, dashes and underscores, starting with a letter or digit. */
export function slug() {
  const error =
    'expected a slug of lowercase letters, digits, "-" and "_" (like "resnet20-noise20"), at most 64 characters';
  return z
    .string({ error })
    .regex(/^[a-z0-9][a-z0-9_-]*$/, { error })
    .max(64, { error });
}
