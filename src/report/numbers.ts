/** How numbers are printed in tables and progress lines: plain, or as the paper's percentages. */

/** 4 decimals (`digits`), exponent notation far from 1, "-" for a missing value. */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return "-";
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1e5 || (Math.abs(value) < 1e-3 && value !== 0) ? value.toExponential(2) : value.toFixed(digits);
}

/** A fraction as a percentage with one decimal, as the paper prints it: 0.8532 -> "85.3". */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined) return "-";
  return Number.isFinite(value) ? (value * 100).toFixed(1) : String(value);
}
