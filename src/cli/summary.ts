/** The end-of-run summary: best reward per epoch, final test metrics, where the run is. */
import type { RunSummary } from "../orchestrate/controller.js";
import { formatMetrics, formatNumber } from "./progress/format.js";

export function summaryLines(runDir: string, summary: RunSummary): string[] {
  const rows = summary.epochs.map(
    ({ epoch, best, bestReward }) => `  ${String(epoch + 1).padStart(5)}  ${formatNumber(bestReward).padStart(11)}  ${best}`,
  );
  return [
    "",
    `Summary (${runDir})`,
    "  epoch  best reward  sample",
    ...rows,
    `  final test metrics: ${formatMetrics(summary.final.metrics)}`,
    `  final model: ${runDir}/${summary.final.model}`,
    `  journal: ${runDir}/journal.jsonl`,
  ];
}
