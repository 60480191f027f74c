/**
 * The final test metrics of the run beside a baseline run's, as an HTML table in the layout
 * of the paper's tables when the metric keys fit one (compare.ts: re-ID Tables 4/5, face
 * Table 3, in percent), else one column per recorded metric.
 */
import { isAbsolute, relative, resolve } from "node:path";
import type { RunOutcome } from "../orchestrate/run-outcome.js";
import { compareRows } from "./compare-rows.js";
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
  const table = compareRows(runs.map(({ run }) => run), (run) => displayPath(run.path, cwd));
  return {
    layout: table.layout?.name,
    header: ["", ...table.header],
    rows: table.rows.map((row, i) => [runs[i]?.label ?? "", ...row]),
  };
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
