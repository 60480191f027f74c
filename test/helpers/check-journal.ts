/**
 * Checks a finished run directory against independent recomputations: the thetas of each
 * epoch are planEpoch's for the seed and the policy state, mu and Adam follow from
 * finishEpoch on the journal's own rewards, the winner is the argmax (lowest index on
 * ties, failed samples never), every retained checkpoint hashes to its sha256, and the
 * final model is the last winner's state.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { EpochRecord, FinalRecord, InitRecord, JournalRecord } from "../../src/orchestrate/journal.js";
import { policyConfig } from "../../src/orchestrate/resume-point.js";
import { taskSeed } from "../../src/orchestrate/task-ids.js";
import { type Experiment, parseExperiment } from "../../src/schema/index.js";
import { createPolicy, finishEpoch, planEpoch } from "../../src/search/index.js";

export interface CheckedRun {
  config: Experiment;
  init: InitRecord;
  epochs: EpochRecord[];
  final: FinalRecord;
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

export function readJournal(dir: string): JournalRecord[] {
  return readFileSync(join(dir, "journal.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as JournalRecord);
}

export function checkFinishedRun(dir: string): CheckedRun {
  const config = parseExperiment(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")));
  const records = readJournal(dir);
  const [init, ...rest] = records;
  expect(init?.kind).toBe("init");
  const epochs = rest.filter((record): record is EpochRecord => record.kind === "epoch");
  const final = rest.at(-1) as FinalRecord;
  expect(final.kind).toBe("final");
  expect(epochs.map((record) => record.epoch)).toEqual(Array.from({ length: config.search.epochs }, (_, e) => e));

  let state = createPolicy(policyConfig(config));
  for (const record of epochs) {
    const where = `epoch ${record.epoch}`;
    expect(record.thetas, where).toEqual(planEpoch(state, record.epoch));
    expect(record.thetas).toHaveLength(config.search.B);
    expect(record.seed).toBe(taskSeed(config.seed, record.epoch));
    expect(record.muBefore).toEqual(state.mu);
    const outcome = finishEpoch(state, record.thetas, record.rewards);
    expect(record.mu, where).toEqual(outcome.state.mu);
    expect(record.adam, where).toEqual(outcome.state.adam);
    expect(record.applied).toBe(outcome.applied);
    expect(record.normalized).toEqual(outcome.normalized);
    // The winner: the highest finished reward, lowest index on ties (a plain loop).
    let best = -1;
    record.rewards.forEach((reward, k) => {
      if (reward !== null && Number.isFinite(reward) && (best < 0 || reward > (record.rewards[best] as number))) best = k;
    });
    expect(record.best, where).toBe(best);
    expect(record.bestReward).toBe(record.rewards[best]);
    // Every failed sample has a recorded, non-requeued failure with a reason.
    record.rewards.forEach((reward, k) => {
      if (reward === null) {
        const failure = record.failures.find((f) => f.sample === k && !f.requeued);
        expect(failure?.reason, `${where} sample ${k}`).toBeTruthy();
      }
    });
    expect(record.winner.taskId).toMatch(new RegExp(`^e${String(record.epoch).padStart(4, "0")}-s${String(best).padStart(2, "0")}-a\\d+$`));
    expect(record.validity).toHaveLength(config.search.B);
    const file = join(dir, record.checkpoint);
    if (existsSync(file)) expect(sha256(readFileSync(file)), record.checkpoint).toBe(record.sha256);
    state = outcome.state;
  }
  const last = epochs.at(-1) as EpochRecord;
  expect(final.checkpoint).toBe(last.checkpoint);
  expect(final.sha256).toBe(last.sha256);
  expect(sha256(readFileSync(join(dir, "final", "model.safetensors")))).toBe(last.sha256);
  expect(sha256(readFileSync(join(dir, last.checkpoint)))).toBe(last.sha256);
  const metrics = JSON.parse(readFileSync(join(dir, "final", "metrics.json"), "utf8")) as { split: string; metrics: unknown };
  expect(metrics.split).toBe("test");
  expect(metrics.metrics).toEqual(final.metrics);
  return { config, init: init as InitRecord, epochs, final };
}
