/**
 * Linear scales and "nice" axis ticks for the hand-written SVG figures (no charting
 * dependency). Data units in, pixels out.
 */

export interface LinearScale {
  (value: number): number;
  domain: readonly [number, number];
  range: readonly [number, number];
}

/**
 * Maps `domain` linearly onto `range` (pixels; a reversed range flips the axis, as SVG's y
 * grows downwards). A degenerate domain (`d0 === d1`) maps everything to the middle of the range.
 */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (![d0, d1, r0, r1].every(Number.isFinite)) {
    throw new RangeError(`linearScale: expected finite domain and range, got domain [${d0}, ${d1}], range [${r0}, ${r1}]`);
  }
  const span = d1 - d0;
  const scale = ((value: number) => (span === 0 ? (r0 + r1) / 2 : r0 + ((value - d0) / span) * (r1 - r0))) as LinearScale;
  scale.domain = [d0, d1];
  scale.range = [r0, r1];
  return scale;
}

/** The tick step near `span / count`: 1, 2 or 5 times a power of ten. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  return nice * power;
}

/** About `count` ticks, multiples of a nice step, inside `[min, max]`. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const [lo, hi] = min < max ? [min, max] : [max, min];
  const step = niceStep(hi - lo, count);
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    ticks.push(roundToStep(k * step, step));
  }
  return ticks;
}

/**
 * `[min, max]` of `values` widened to whole nice steps (a domain that starts and ends on a
 * tick); a single value gets +-1 around it (or +-|v|/10 when that is larger).
 */
export function niceDomain(values: readonly number[], count = 5): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    const pad = Math.max(1, Math.abs(lo) / 10);
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, count);
  return [roundToStep(Math.floor(lo / step + 1e-9) * step, step), roundToStep(Math.ceil(hi / step - 1e-9) * step, step)];
}

/** A tick label: as many decimals as the tick step needs ("0.25", "1e-6" for tiny or huge values). */
export function formatTick(value: number, step: number): string {
  if (value === 0) return "0";
  if (Math.abs(value) >= 1e5 || Math.abs(value) < 1e-4) return value.toExponential(1).replace("e+", "e");
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toFixed(decimals);
}

/** Removes float noise from `k * step` (0.30000000000000004 -> 0.3). */
function roundToStep(value: number, step: number): number {
  const decimals = Math.max(0, Math.min(15, -Math.floor(Math.log10(step)) + 1));
  return Number(value.toFixed(decimals));
}
