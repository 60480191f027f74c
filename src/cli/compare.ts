/**
 * `amlfs compare <runDir>...`: the final test metrics of finished runs side by side
 * (e.g. a baseline and its AM-LFS search through the same machinery). Read-only.
 *
 * Re-ID runs are laid out as the paper's Tables 4/5 (mAP, rank-1, rank-5, then the same
 * after re-ranking, in percent with one decimal); the metric keys decide, never the
 * baseline's name. Anything else gets one column per final metric, as recorded.
 */
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { Journal, type EpochRecord, type FinalRecord } from "../orchestrate/journal.js";
import { RunError } from "../orchestrate/errors.js";
import { CONFIG_FILE, JOURNAL_FILE } from "../orchestrate/run-dir.js";
import { type Experiment, parseExperiment } from "../schema/index.js";
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
  const config = parseExperiment(raw, configPath);
  const journal = await Journal.read(join(path, JOURNAL_FILE));
  const epochs = journal.records.filter((record): record is EpochRecord => record.kind === "epoch");
  const final = journal.records.find((record): record is FinalRecord => record.kind === "final");
  return { path, config, epochs, final };
}

/** The paper's re-ID columns (Tables 4/5): the final metric key and its header. */
export const REID_COLUMNS: readonly (readonly [key: string, title: string])[] = [
  ["mAP", "mAP"],
  ["rank1", "rank-1"],
  ["rank5", "rank-5"],
  ["mAP_rerank", "mAP (re-rank)"],
  ["rank1_rerank", "rank-1 (re-rank)"],
  ["rank5_rerank", "rank-5 (re-rank)"],
];

/** Whether final `metrics` are re-ID retrieval metrics (their keys decide). */
export function isReidMetrics(metrics: Readonly<Record<string, number | null>>): boolean {
  return ["mAP", "rank1", "rank5"].every((key) => key in metrics);
}

/** A fraction as a percentage with one decimal, as the paper prints it: 0.8532 -> "85.3". */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined) return "-";
  return Number.isFinite(value) ? (value * 100).toFixed(1) : String(value);
}

/** The cells of `REID_COLUMNS` for final `metrics` ("-" where a metric is absent, e.g. no re-ranking). */
export function reidCells(metrics: Readonly<Record<string, number | null>>): string[] {
  return REID_COLUMNS.map(([key]) => formatPercent(metrics[key]));
}

/** Rows of cells as a Markdown-style table, the first row the header. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)];
}

/**
 * One row per run: what ran, the last validation reward, and the final test metrics: the
 * paper's re-ID columns when every finished run measured re-ID metrics, else every metric.
 */
export function compareTable(runs: readonly RunOutcome[], cwd = process.cwd()): string {
  const finished = runs.flatMap((run) => (run.final === undefined ? [] : [run.final.metrics]));
  const reid = finished.length > 0 && finished.every(isReidMetrics);
  const metricNames = [...new Set(finished.flatMap((metrics) => Object.keys(metrics)))];
  const metricHeader = reid ? REID_COLUMNS.map(([, title]) => `test ${title} %`) : metricNames.map((name) => `test ${name}`);
  const header = ["run", "mode", "B", "epochs", "val reward (last)", ...metricHeader];
  const rows = runs.map((run) => [
    relative(cwd, run.path) || ".",
    run.config.search.mode,
    String(run.config.search.B),
    `${run.epochs.length}/${run.config.search.epochs}`,
    formatNumber(run.epochs.at(-1)?.bestReward),
    ...(run.final === undefined
      ? metricHeader.map(() => "(not finished)")
      : reid
        ? reidCells(run.final.metrics)
        : metricNames.map((name) => formatNumber(run.final?.metrics[name]))),
  ]);
  return formatTable(header, rows).join("\n") + "\n";
}
