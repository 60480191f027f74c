/**
 * `amlfs compare <runDir>...`: the final test metrics of finished runs side by side
 * (e.g. a baseline and its AM-LFS search through the same machinery). Read-only.
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

/** One row per run: what ran, the last validation reward, and every final test metric. */
export function compareTable(runs: readonly RunOutcome[], cwd = process.cwd()): string {
  const metricNames = [...new Set(runs.flatMap((run) => Object.keys(run.final?.metrics ?? {})))];
  const header = ["run", "mode", "B", "epochs", "val reward (last)", ...metricNames.map((name) => `test ${name}`)];
  const rows = runs.map((run) => [
    relative(cwd, run.path) || ".",
    run.config.search.mode,
    String(run.config.search.B),
    `${run.epochs.length}/${run.config.search.epochs}`,
    formatNumber(run.epochs.at(-1)?.bestReward),
    ...metricNames.map((name) => (run.final === undefined ? "(not finished)" : formatNumber(run.final.metrics[name]))),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n") + "\n";
}
