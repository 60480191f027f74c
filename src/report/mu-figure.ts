/**
 * Figure "mu": every coordinate of mu over the epochs (the paper's Figure 3), one panel per
 * block of theta = [a_t, b_t, a_tau, b_tau] (docs/algorithm.md), one line per interval.
 */
import { type FigureSpec, type PanelSpec, renderFigure } from "./chart.js";

export const MU_FIGURE_ID = "figure-mu";

const BLOCKS = [
  { name: "a_t", title: "a_t: slopes of t (target cosine)", domain: [-1, 1] },
  { name: "b_t", title: "b_t: biases of t", domain: [-1, 1] },
  { name: "a_tau", title: "a_tau: slopes of tau (target probability)", domain: [0, 1] },
  { name: "b_tau", title: "b_tau: biases of tau", domain: [0, 1] },
] as const;

/** "[-1, -0.67)": interval `i` of `M` on `[lo, hi]` (the last one closed). */
export function intervalLabel(i: number, M: number, lo: number, hi: number): string {
  const edge = (k: number) => String(Number((lo + ((hi - lo) * k) / M).toFixed(2)));
  return `[${edge(i)}, ${edge(i + 1)}${i === M - 1 ? "]" : ")"}`;
}

/**
 * @param muSeries mu_0 .. mu_E, each of length 4 M; mu_e (after e epochs, numbered from 1 as the
 *   console does) is drawn at x = e, so x = e lines up with epoch e of the other figures.
 * @param note drawn in every panel when mu was never updated (baseline or fixed mode).
 */
export function muFigure(muSeries: readonly (readonly number[])[], M: number, note?: string): string {
  muSeries.forEach((mu, epoch) => {
    if (mu.length !== 4 * M) throw new RangeError(`mu at epoch ${epoch}: expected 4 * M = ${4 * M} numbers, got ${mu.length}`);
  });
  const panels: PanelSpec[] = BLOCKS.map((block, b) => ({
    title: block.title,
    xLabel: "epochs done (0: mu_0)",
    yLabel: block.name,
    series: Array.from({ length: M }, (_, i) => ({
      label: `${block.name === "a_t" || block.name === "b_t" ? "x" : "p"} in ${intervalLabel(i, M, block.domain[0], block.domain[1])}`,
      points: muSeries.map((mu, epoch) => [epoch, mu[b * M + i] as number] as const),
    })),
    ...(note === undefined ? {} : { note }),
  }));
  const figure: FigureSpec = {
    id: MU_FIGURE_ID,
    title: "mu of every parameter over the epochs (paper Figure 3)",
    panels,
    columns: 2,
  };
  return renderFigure(figure);
}
