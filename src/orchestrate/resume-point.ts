/**
 * Where a run stands, from its frozen config and its journal: the policy state after the
 * last complete epoch (mu and Adam as recorded), the next epoch, the checkpoint it starts
 * from, and whether the final evaluation is done. A fresh run is the same computation on
 * an empty journal, so a resumed run and an uninterrupted one take the same path.
 */
import type { Experiment } from "../schema/index.js";
import { type PolicyConfig, type PolicyState, createPolicy, dim } from "../search/index.js";
import { RunError } from "./errors.js";
import type { EpochRecord, FinalRecord, InitRecord, JournalRecord } from "./journal.js";
import type { StoredCheckpoint } from "./run-dir.js";

export interface ResumePoint {
  policy: PolicyState;
  /** The epoch to run next (0-based); equal to search.epochs when all are done. */
  nextEpoch: number;
  /** The state w_{nextEpoch}; null before the initial checkpoint exists. */
  start: StoredCheckpoint | null;
  init: InitRecord | null;
  epochs: EpochRecord[];
  final: FinalRecord | null;
}

export function policyConfig(config: Experiment): PolicyConfig {
  const { mode, M, B, sigmaStd, lr, init, space } = config.search;
  return { mode, M, B, sigmaStd, lr, seed: config.seed, init, space };
}

export function resumePoint(config: Experiment, records: readonly JournalRecord[], journalPath = "journal"): ResumePoint {
  const initial = createPolicy(policyConfig(config));
  const init = (records.find((record) => record.kind === "init") as InitRecord | undefined) ?? null;
  const epochs = records.filter((record): record is EpochRecord => record.kind === "epoch");
  const final = (records.find((record) => record.kind === "final") as FinalRecord | undefined) ?? null;
  const width = dim(config.search.M);
  for (const record of epochs) {
    const where = `${journalPath}, epoch ${record.epoch}`;
    if (record.thetas.length !== config.search.B || record.rewards.length !== config.search.B) {
      throw new RunError(`${where}: expected B = ${config.search.B} thetas and rewards, got ${record.thetas.length}`, {
        resumable: false,
      });
    }
    if (record.mu.length !== width || record.thetas.some((theta) => theta.length !== width)) {
      throw new RunError(`${where}: expected vectors of length 4M = ${width}`, { resumable: false });
    }
  }
  if (epochs.length > config.search.epochs) {
    throw new RunError(`${journalPath}: ${epochs.length} epochs recorded, the config has search.epochs = ${config.search.epochs}`, {
      resumable: false,
    });
  }
  const last = epochs.at(-1);
  const policy = last === undefined ? initial : { ...initial, mu: [...last.mu], adam: structuredClone(last.adam) };
  const startRecord = last ?? init;
  const start =
    startRecord === null
      ? null
      : { file: startRecord.checkpoint, sha256: startRecord.sha256, sizeBytes: startRecord.sizeBytes };
  return { policy, nextEpoch: epochs.length, start, init, epochs, final };
}
