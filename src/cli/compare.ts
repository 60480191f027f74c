/**
 * `amlfs compare <runDir>...`: the final test metrics of finished runs side by side
 * (e.g. a baseline and its AM-LFS search through the same machinery). Read-only.
 *
 * Re-ID runs are laid out as the paper's Tables 4/5 (mAP, rank-1, rank-5, then the same
 * after re-ranking), face runs as its Table 3 (LFW verification accuracy, its std over the
 * folds, TAR at FAR 1e-3), in percent with one decimal; the metric keys decide, never the
 * baseline's name. Anything else gets one column per final metric, as recorded.
 */
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { Journal, type EpochRecord, type FinalRecord } from "../orchestrate/journal.js";
import { RunError } from "../orchestrate/errors.js";
import { CONFIG_FILE, JOURNAL_FILE } from "../orchestrate/run-dir.js";
import { type Experiment, parseFrozenExperiment } from "../schema/index.js";
import { formatNumber } from "./progress/format.js";

export interface RunOutcome {
  path: string;
  config: Experiment;
  epochs: EpochRecord[];
  final: FinalRecord | undefined;
}

export async function readRunOutcome(path: string): Promise<RunOutcome> {
  const configPath = join(path, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch (error) {
    throw new RunError(`${path} is not a run directory: cannot read ${CONFIG_FILE}`, { resumable: false, cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RunError(`${configPath}: expected JSON, got ${(error as Error).message}`, { resumable: false, cause: error });
  }
  const config = parseFrozenExperiment(raw, configPath);
  const journal = await Journal.read(join(path, JOURNAL_FILE));
  const epochs = journal.records.filter((record): record is EpochRecord => record.kind === "epoch");
  const final = journal.records.find((record): record is FinalRecord => record.kind === "final");
  return { path, config, epochs, final };
}

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

/** A fraction as a percentage with one decimal, as the paper prints it: 0.8532 -> "85.3". */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined) return "-";
  return Number.isFinite(value) ? (value * 100).toFixed(1) : String(value);
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

/** `compareRows` as a Markdown-style table. */
export function compareTable(runs: readonly RunOutcome[], cwd = process.cwd()): string {
  const { header, rows } = compareRows(runs, (run) => relative(cwd, run.path) || ".");
  return formatTable(header, rows).join("\n") + "\n";
}
