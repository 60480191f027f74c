/** Input checks shared by the search functions; each failure names its field. */
import { SearchInputError, describeValue } from "./errors.js";

/** Throws unless `value` is a finite number. */
export function requireFinite(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new SearchInputError(field, `\`${field}\` must be a finite number, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws unless `value` is a finite number > 0. */
export function requirePositive(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new SearchInputError(field, `\`${field}\` must be a finite number > 0, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws unless `value` is an integer >= `min`. */
export function requireInteger(field: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new SearchInputError(field, `\`${field}\` must be an integer >= ${min}, got ${describeValue(value)}`);
  }
  return value;
}

const UINT32_MAX = 0xffff_ffff;

/** Throws unless `value` is an unsigned 32-bit integer. */
export function requireUint32(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    throw new SearchInputError(
      field,
      `\`${field}\` must be an unsigned 32-bit integer (0 to ${UINT32_MAX}), got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * Throws unless `value` is an array of finite numbers (of `length` when given). The
 * message names `label` (default `field`) and the failing index.
 */
export function requireFiniteVector(field: string, value: unknown, length?: number, label = field): number[] {
  if (!Array.isArray(value)) {
    throw new SearchInputError(field, `\`${label}\` must be an array of numbers, got ${describeValue(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new SearchInputError(field, `\`${label}\` must have length ${length}, got length ${value.length}`);
  }
  value.forEach((entry: unknown, index) => {
    if (typeof entry !== "number" || !Number.isFinite(entry)) {
      throw new SearchInputError(
        field,
        `\`${label}[${index}]\` must be a finite number, got ${describeValue(entry)}`,
      );
    }
  });
  return value as number[];
}
