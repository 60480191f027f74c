/**
 * The one error type of the search layer: an input that the pure search code cannot
 * use. `field` names the offending input (`theta`, `B`, `sigmaStd`, ...), and the
 * message says what was expected and what was given.
 */
export class SearchInputError extends Error {
  override readonly name = "SearchInputError";
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.field = field;
  }
}

/** A short, readable rendering of a given value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === "object") return "an object";
  return String(value);
}
