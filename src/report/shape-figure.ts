/**
 * Figure "shape": the learned t(x) and tau(p) of the final mu beside the identity
 * (softmax cross-entropy) and the CosFace point t(x) = x - m of the space (the paper's
 * Figure 1). The curves come from the Python loss (python-curves.ts).
 */
import { type Series, renderFigure } from "./chart.js";
import type { LossCurves } from "./python-curves.js";

export const SHAPE_FIGURE_ID = "figure-shape";

export interface NamedCurves {
  label: string;
  curves: LossCurves;
  dash?: string;
}

/** `x` and `y` zipped into points. */
export function zipPoints(x: readonly number[], y: readonly number[]): [number, number][] {
  if (x.length !== y.length) throw new RangeError(`expected as many x as y values, got ${x.length} and ${y.length}`);
  return x.map((value, index) => [value, y[index] as number]);
}

/** `entries[0]` is the learned loss; the rest are references (identity, CosFace, ...). */
export function shapeFigure(entries: readonly NamedCurves[]): string {
  const tSeries: Series[] = entries.map((entry) => ({
    label: entry.label,
    points: zipPoints(entry.curves.x, entry.curves.t),
    ...(entry.dash === undefined ? {} : { dash: entry.dash }),
  }));
  const tauSeries: Series[] = entries.map((entry) => ({
    label: entry.label,
    points: zipPoints(entry.curves.p, entry.curves.tau),
    ...(entry.dash === undefined ? {} : { dash: entry.dash }),
  }));
  const learned = entries[0];
  const floored = learned?.curves.tauFloored.some(Boolean) ?? false;
  if (learned !== undefined && floored) {
    tauSeries.push({ label: `${learned.label}: a p + b (before the floor)`, points: zipPoints(learned.curves.p, learned.curves.tauRaw), dash: "2 3", color: "#999999" });
  }
  return renderFigure({
    id: SHAPE_FIGURE_ID,
    title: "The learned t and tau beside the identity and CosFace (paper Figure 1)",
    panels: [
      { title: "t(x) on the target cosine", xLabel: "x = cos(theta_y)", yLabel: "t(x)", series: tSeries, xDomain: [-1, 1] },
      {
        title: "tau(p) on the target probability, as the loss uses it",
        xLabel: "p = softmax(f')_y",
        yLabel: "tau(p)",
        series: tauSeries,
        xDomain: [0, 1],
        ...(floored ? { note: "tau floored at 1e-6 where a p + b < 1e-6 (validity policy)" } : {}),
      },
    ],
  });
}
