/**
 * Figure "gradient": |dL/df_y|, the gradient magnitude on the target logit, against the
 * target logit f_y = s x, for the learned loss and the baseline (the paper's Figure 4).
 * Computed by autograd through the Python loss in a fixed setting (python/amlfs/report_curves.py):
 * one sample, C classes, every other logit 0, scale s.
 */
import { renderFigure } from "./chart.js";
import type { CurveAnswer } from "./python-curves.js";
import { type NamedCurves, zipPoints } from "./shape-figure.js";

export const GRADIENT_FIGURE_ID = "figure-gradient";

export function gradientFigure(entries: readonly NamedCurves[], setting: CurveAnswer["setting"]): string {
  return renderFigure({
    id: GRADIENT_FIGURE_ID,
    title: "Gradient magnitude on the target logit (paper Figure 4)",
    panels: [
      {
        title: `|dL/df_y| vs f_y (C = ${setting.numClasses}, other logits 0, s = ${setting.scale})`,
        xLabel: "target logit f_y = s cos(theta_y)",
        yLabel: "|dL/df_y|",
        series: entries.map((entry) => ({
          label: entry.label,
          points: zipPoints(entry.curves.logit, entry.curves.gradMagnitude),
          ...(entry.dash === undefined ? {} : { dash: entry.dash }),
        })),
      },
    ],
    panelWidthPx: 620,
  });
}
