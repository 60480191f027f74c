/**
 * `amlfs compare <runDir>...`: the final test metrics of finished runs side by side
 * (e.g. a baseline and its AM-LFS search through the same machinery), in the paper's layout
 * where the runs fit one (src/report/compare-rows.ts). Read-only.
 */
import { relative } from "node:path";
import type { RunOutcome } from "../orchestrate/run-outcome.js";
import { compareRows, formatTable } from "../report/compare-rows.js";

/** `compareRows` as a Markdown-style table. */
export function compareTable(runs: readonly RunOutcome[], cwd = process.cwd()): string {
  const { header, rows } = compareRows(runs, (run) => relative(cwd, run.path) || ".");
  return formatTable(header, rows).join("\n") + "\n";
}
