/**
 * `baseline.options` checked against the baseline's option table in proto/catalog.json, kind
 * by kind as python/amlfs/baselines/options.py checks them (both read
 * proto/vectors/options/kinds.json), so a misspelt or mistyped option is a config error
 * before any worker starts.
 */
import type { OptionSpec } from "./catalog.js";
import { OPTION_KINDS } from "./catalog.js";
import { editDistance } from "./edit-distance.js";

type Kind = (typeof OPTION_KINDS)[number];

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);

/** A list whose items pass `item`, in non-decreasing order (Python's `v == sorted(v)`). */
function increasing(value: unknown, item: (x: unknown) => boolean): boolean {
  if (!Array.isArray(value) || !value.every(item)) return false;
  return value.every((x, i) => i === 0 || (value[i - 1] as number) <= (x as number));
}

const CHECKS: Record<Kind, (value: unknown, choices: readonly unknown[]) => boolean> = {
  positiveInt: (v) => isInt(v) && v >= 1,
  nonNegativeInt: (v) => isInt(v) && v >= 0,
  positiveIntOrNull: (v) => v === null || (isInt(v) && v >= 1),
  positiveNumber: (v) => isNumber(v) && v > 0,
  nonNegativeNumber: (v) => isNumber(v) && v >= 0,
  fraction: (v) => isNumber(v) && v >= 0 && v < 1,
  boolean: (v) => typeof v === "boolean",
  oneOf: (v, choices) => choices.includes(v),
  fractionsList: (v) => increasing(v, (x) => isNumber(x) && x > 0 && x < 1),
  intList: (v) => increasing(v, (x) => isInt(x) && x >= 0),
  epochList: (v) => increasing(v, (x) => isInt(x) && x >= 1),
  pathOrNull: (v) => v === null || (typeof v === "string" && v !== ""),
  object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
};

/** Whether an option of this kind (and choices) may hold `value`. */
export function optionAccepts(option: Pick<OptionSpec, "kind" | "choices">, value: unknown): boolean {
  return CHECKS[option.kind](value, option.choices ?? []);
}

/**
 * The known name closest to `name`: equal up to case, else the nearest within a third of its
 * length (at least 2 edits: `widht` -> `width`), else one that starts or ends like it
 * (`width` -> `widthPx`).
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const sameCase = known.find((candidate) => candidate.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  const limit = Math.max(2, Math.floor(name.length / 3));
  const ranked = known
    .map((candidate) => ({ candidate, distance: editDistance(candidate.toLowerCase(), lower) }))
    .filter(({ distance }) => distance <= limit)
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate));
  if (ranked[0] !== undefined) return ranked[0].candidate;
  return known.find((candidate) => {
    const c = candidate.toLowerCase();
    return lower.length >= 3 && (c.startsWith(lower) || lower.startsWith(c));
  });
}

export interface OptionProblem {
  /** The option's name (the path is `baseline.options.<name>`). */
  name: string;
  message: string;
  /** The value given, for "got ...", or absent for an unknown option. */
  given?: { value: unknown };
}

/** Every problem of `options` against `table` (the baseline `baseline`'s), in the options' order. */
export function optionProblems(baseline: string, options: Record<string, unknown>, table: Record<string, OptionSpec>): OptionProblem[] {
  const known = Object.keys(table).sort();
  const problems: OptionProblem[] = [];
  for (const [name, value] of Object.entries(options)) {
    const option = table[name];
    if (option === undefined) {
      const suggestion = closestName(name, known);
      const hint = suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`;
      problems.push({ name, message: `unknown option "${name}" of baseline ${baseline}${hint}; expected one of ${known.join(", ")}` });
    } else if (!optionAccepts(option, value)) {
      problems.push({ name, message: `expected ${option.expected}`, given: { value } });
    }
  }
  return problems;
}
