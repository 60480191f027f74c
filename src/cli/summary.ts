/**
 * The end-of-run summary: best reward per epoch, final test metrics, where the run is.
 * Re-ID and face metrics are shown as a row of the paper's Tables 4/5 or 3 (see `compare.ts`),
 * the metrics outside those columns on one line after it; others as one line of all metrics.
 */
import type { RunSummary } from "../orchestrate/controller.js";
import { formatTable, layoutCells, paperLayout } from "../report/compare-rows.js";
import { formatNumber } from "../report/numbers.js";
import { formatMetrics } from "./progress/format.js";

function finalMetricLines(metrics: Readonly<Record<string, number | null>>): string[] {
  const layout = paperLayout([metrics]);
  if (layout === undefined) return [`  final test metrics: ${formatMetrics(metrics)}`];
  const shown = new Set(layout.columns.map(([key]) => key));
  const others = Object.fromEntries(Object.entries(metrics).filter(([key]) => !shown.has(key)));
  const table = formatTable(layout.columns.map(([, title]) => title), [layoutCells(layout, metrics)]);
  return [
    "  final test metrics (%):",
    ...table.map((line) => `    ${line}`),
    ...(Object.keys(others).length > 0 ? [`  other final test metrics: ${formatMetrics(others)}`] : []),
  ];
}

export function summaryLines(runDir: string, summary: RunSummary): string[] {
  const rows = summary.epochs.map(
    ({ epoch, best, bestReward }) => `  ${String(epoch + 1).padStart(5)}  ${formatNumber(bestReward).padStart(11)}  ${best}`,
  );
  return [
    "",
    `Summary (${runDir})`,
    "  epoch  best reward  sample",
    ...rows,
    ...finalMetricLines(summary.final.metrics),
    `  final model: ${runDir}/${summary.final.model}`,
    `  journal: ${runDir}/journal.jsonl`,
  ];
}
