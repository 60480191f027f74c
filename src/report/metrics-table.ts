/**
 * The final test metrics of the run beside a baseline run's, as an HTML table in the layout
 * of the paper's tables when the metric keys fit one (compare.ts: re-ID Tables 4/5, face
 * Table 3, in percent), else one column per recorded metric.
 */
import { isAbsolute, relative, resolve } from "node:path";
import { layoutCells, paperLayout, type RunOutcome } from "../cli/compare.js";
import { formatNumber } from "../cli/progress/format.js";
import { escapeXml } from "./svg.js";

export interface TableRun {
  label: string;
  run: RunOutcome;
}

export interface MetricsTable {
  /** The paper layout used, or undefined (one column per metric). */
  layout: string | undefined;
  header: string[];
  rows: string[][];
}

export function metricsTable(runs: readonly TableRun[], cwd = process.cwd()): MetricsTable {
  const finished = runs.flatMap(({ run }) => (run.final === undefined ? [] : [run.final.metrics]));
  const layout = paperLayout(finished);
  const names = [...new Set(finished.flatMap((metrics) => Object.keys(metrics)))];
  const metricHeader = layout ? layout.columns.map(([, title]) => `test ${title} %`) : names.map((name) => `test ${name}`);
  const header = ["", "run", "mode", "B", "epochs", "val reward (last)", ...metricHeader];
  const rows = runs.map(({ label, run }) => [
    label,
    displayPath(run.path, cwd),
    run.config.search.mode,
    String(run.config.search.B),
    `${run.epochs.length}/${run.config.search.epochs}`,
    formatNumber(run.epochs.at(-1)?.bestReward),
    ...(run.final === undefined
      ? metricHeader.map(() => "(not finished)")
      : layout
        ? layoutCells(layout, run.final.metrics)
        : names.map((name) => formatNumber(run.final?.metrics[name]))),
  ]);
  return { layout: layout?.name, header, rows };
}

/** `path` relative to `cwd` when inside it, else absolute. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const inside = relative(cwd, path);
  return inside === "" ? "." : inside.startsWith("..") || isAbsolute(inside) ? resolve(path) : inside;
}

/** The table as an HTML `<table data-table="metrics">`, every cell escaped. */
export function metricsTableHtml(table: MetricsTable): string {
  const head = table.header.map((cell) => `<th>${escapeXml(cell)}</th>`).join("");
  const body = table.rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeXml(cell)}</td>`).join("")}</tr>`).join("\n");
  const caption = table.layout === undefined ? "Final test metrics (one column per recorded metric)" : `Final test metrics, laid out as the paper's ${table.layout}`;
  return `<table data-table="metrics">\n<caption>${escapeXml(caption)}</caption>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}
