/**
 * The rows of `amlfs compare` and of the report's metrics table: one per run, with the final
 * test metrics in the paper's layout where every finished run fits one.
 *
 * Re-ID runs are laid out as the paper's Tables 4/5 (mAP, rank-1, rank-5, then the same
 * after re-ranking), face runs as its Table 3 (LFW verification accuracy, its std over the
 * folds, TAR at FAR 1e-3), in percent with one decimal; the metric keys decide, never the
 * baseline's name. Anything else gets one column per final metric, as recorded.
 */
import type { RunOutcome } from "../orchestrate/run-outcome.js";
import { formatNumber, formatPercent } from "./numbers.js";

/** A table layout of the paper: its columns (final metric key, header) and the keys that select it. */
export interface PaperLayout {
  name: string;
  columns: readonly (readonly [key: string, title: string])[];
  requires: readonly string[];
}

/** The paper's re-ID columns (Tables 4/5). */
export const REID_COLUMNS: PaperLayout["columns"] = [
  ["mAP", "mAP"],
  ["rank1", "rank-1"],
  ["rank5", "rank-5"],
  ["mAP_rerank", "mAP (re-rank)"],
  ["rank1_rerank", "rank-1 (re-rank)"],
  ["rank5_rerank", "rank-5 (re-rank)"],
];

/** The paper's face columns (Table 3): LFW 10-fold accuracy, its std over the folds, TAR at FAR 1e-3. */
export const FACE_COLUMNS: PaperLayout["columns"] = [
  ["verificationAccuracy", "LFW acc"],
  ["verificationAccuracyStd", "LFW std"],
  ["tarAtFar1e-3", "TAR@FAR=1e-3"],
];

export const PAPER_LAYOUTS: readonly PaperLayout[] = [
  { name: "re-ID (Tables 4/5)", columns: REID_COLUMNS, requires: ["mAP", "rank1", "rank5"] },
  { name: "face (Table 3)", columns: FACE_COLUMNS, requires: ["verificationAccuracy"] },
];

/** The paper layout every one of `metrics` fits, if any (their keys decide). */
export function paperLayout(metrics: readonly Readonly<Record<string, number | null>>[]): PaperLayout | undefined {
  if (metrics.length === 0) return undefined;
  return PAPER_LAYOUTS.find((layout) => metrics.every((one) => layout.requires.every((key) => key in one)));
}

/** The cells of `layout` for final `metrics` ("-" where a metric is absent, e.g. no re-ranking). */
export function layoutCells(layout: PaperLayout, metrics: Readonly<Record<string, number | null>>): string[] {
  return layout.columns.map(([key]) => formatPercent(metrics[key]));
}

/** Rows of cells as a Markdown-style table, the first row the header. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)];
}

/** The header and one row per run of `compareTable` (also the report's metrics table). */
export interface CompareRows {
  /** The paper layout used, or undefined (one column per recorded metric). */
  layout: PaperLayout | undefined;
  header: string[];
  rows: string[][];
}

/**
 * One row per run: what ran (`where` names it, default its path relative to `cwd`), the last
 * validation reward, and the final test metrics: the paper's columns when every finished run
 * fits one of its layouts, else every metric.
 */
export function compareRows(runs: readonly RunOutcome[], where: (run: RunOutcome) => string): CompareRows {
  const finished = runs.flatMap((run) => (run.final === undefined ? [] : [run.final.metrics]));
  const layout = paperLayout(finished);
  const metricNames = [...new Set(finished.flatMap((metrics) => Object.keys(metrics)))];
  const metricHeader = layout
    ? layout.columns.map(([, title]) => `test ${title} %`)
    : metricNames.map((name) => `test ${name}`);
  const header = ["run", "mode", "B", "epochs", "val reward (last)", ...metricHeader];
  const rows = runs.map((run) => [
    where(run),
    run.config.search.mode,
    String(run.config.search.B),
    `${run.epochs.length}/${run.config.search.epochs}`,
    formatNumber(run.epochs.at(-1)?.bestReward),
    ...(run.final === undefined
      ? metricHeader.map(() => "(not finished)")
      : layout
        ? layoutCells(layout, run.final.metrics)
        : metricNames.map((name) => formatNumber(run.final?.metrics[name]))),
  ]);
  return { layout, header, rows };
}
