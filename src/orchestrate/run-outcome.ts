/**
 * What a run directory holds, read back without touching it: its frozen config, the epochs
 * of its journal and the final record if it finished. `amlfs compare`, the report and the
 * benches read runs through it.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Experiment, parseFrozenExperiment } from "../schema/index.js";
import { parseJsonText } from "../schema/json-text.js";
import { RunError } from "./errors.js";
import { Journal, type EpochRecord, type FinalRecord } from "./journal.js";
import { CONFIG_FILE, JOURNAL_FILE } from "./run-dir.js";

/** A run directory as read back: its frozen config and the journal's epochs and final record. */
export interface RunOutcome {
  path: string;
  config: Experiment;
  epochs: EpochRecord[];
  final: FinalRecord | undefined;
}

/** Reads the run in `path` (read-only, no lock: a live run is read as far as it got). */
export async function readRunOutcome(path: string): Promise<RunOutcome> {
  const configPath = join(path, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch (error) {
    throw new RunError(`${path} is not a run directory: cannot read ${CONFIG_FILE}`, { resumable: false, cause: error });
  }
  const config = parseFrozenExperiment(parseJsonText(text, configPath), configPath);
  const journal = await Journal.read(join(path, JOURNAL_FILE));
  const epochs = journal.records.filter((record): record is EpochRecord => record.kind === "epoch");
  const final = journal.records.find((record): record is FinalRecord => record.kind === "final");
  return { path, config, epochs, final };
}
