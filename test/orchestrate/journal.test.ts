/**
 * The journal: a round trip through the file, order checks that name the line, and the
 * resume point (policy state, next epoch, start checkpoint) derived from it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunError } from "../../src/orchestrate/errors.js";
import { type EpochRecord, type InitRecord, Journal } from "../../src/orchestrate/journal.js";
import { policyConfig, resumePoint } from "../../src/orchestrate/resume-point.js";
import { createPolicy, finishEpoch, planEpoch } from "../../src/search/index.js";
import { tinyConfig } from "./config.js";

const sha = (c: string) => c.repeat(64);
const init: InitRecord = {
  kind: "init",
  checkpoint: "checkpoints/w_0000.safetensors",
  sha256: sha("a"),
  sizeBytes: 10,
  seed: 7,
  workerId: "w0",
  time: "2025-01-01T00:00:00.000Z",
};

function epochRecord(epoch: number, state = createPolicy(policyConfig(tinyConfig()))): { record: EpochRecord; next: typeof state } {
  const thetas = planEpoch(state, epoch);
  const rewards = [0.5 + epoch * 0.01, null, 0.25 + 1 / 3];
  const outcome = finishEpoch(state, thetas, rewards);
  const record: EpochRecord = {
    kind: "epoch",
    epoch,
    seed: 1,
    thetas,
    rewards,
    failures: [{ sample: 1, taskId: `e000${epoch}-s01-a0`, workerId: "w1", reason: "loss is NaN", requeued: false }],
    normalized: outcome.normalized,
    best: outcome.best as number,
    bestReward: rewards[outcome.best as number] as number,
    muBefore: state.mu,
    mu: outcome.state.mu,
    adam: outcome.state.adam,
    applied: outcome.applied,
    validity: thetas.map(() => ({ tauMin: 0, tauFlooredFraction: 0, negativeSlopesT: 0, negativeSlopesTau: 0 })),
    winner: { taskId: "e0000-s00-a0", workerId: "w0" },
    checkpoint: `checkpoints/w_000${epoch + 1}.safetensors`,
    sha256: sha(String(epoch + 1)),
    sizeBytes: 10,
    timingsMs: { epoch: 5, upload: 1, tasks: [{ train: 1 }, null, { train: 2 }] },
    time: "2025-01-01T00:00:00.000Z",
  };
  return { record, next: outcome.state };
}

const path = () => join(mkdtempSync(join(tmpdir(), "amlfs-journal-")), "journal.jsonl");

describe("Journal", () => {
  it("reads a missing file as empty and round-trips records exactly", async () => {
    const file = path();
    const journal = await Journal.read(file);
    expect(journal.records).toEqual([]);
    const first = epochRecord(0);
    await journal.append(init);
    await journal.append(first.record);
    const again = await Journal.read(file);
    expect(again.records).toEqual([init, first.record]);
    // Numbers survive bit for bit (JSON writes the shortest round-tripping decimal).
    expect((again.records[1] as EpochRecord).mu).toEqual(first.record.mu);
    expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(2);
  });

  it("refuses records out of order, naming the line", async () => {
    const file = path();
    writeFileSync(file, `${JSON.stringify(epochRecord(0).record)}\n`);
    await expect(Journal.read(file)).rejects.toThrow(/journal\.jsonl:1: expected the init record first/);
    writeFileSync(file, `${JSON.stringify(init)}\n${JSON.stringify(epochRecord(1).record)}\n`);
    await expect(Journal.read(file)).rejects.toThrow(/journal\.jsonl:2: expected epoch 0, got epoch 1/);
    const journal = await Journal.read(path());
    await expect(journal.append(epochRecord(0).record)).rejects.toBeInstanceOf(RunError);
  });

  it("names the line and field of a corrupt record", async () => {
    const file = path();
    writeFileSync(file, `${JSON.stringify(init)}\n{"kind":"epoch","epoch":"zero"}\n`);
    await expect(Journal.read(file)).rejects.toThrow(/journal\.jsonl:2: field `epoch`/);
    writeFileSync(file, `${JSON.stringify(init)}\n{not json\n`);
    await expect(Journal.read(file)).rejects.toThrow(/journal\.jsonl:2: expected a JSON record/);
  });

  it("keeps each sample's lossStats (null: not measured), reads older records without them, checks them", async () => {
    const file = path();
    const stats = { examples: 1294, flooredShare: 0.25, deadShare: 0.5, meanC: 0.61, tDeadShare: 0, meanTSlope: 1.02 };
    const { record } = epochRecord(0);
    const journal = await Journal.read(file);
    await journal.append(init);
    await journal.append({ ...record, lossStats: [stats, null, { ...stats, examples: 7 }] });
    expect(((await Journal.read(file)).records[1] as EpochRecord).lossStats).toEqual([stats, null, { ...stats, examples: 7 }]);
    writeFileSync(file, `${JSON.stringify(init)}\n${JSON.stringify(record)}\n`); // a journal of an earlier version
    expect(((await Journal.read(file)).records[1] as EpochRecord).lossStats).toBeUndefined();
    const bad = { ...record, lossStats: [stats, null, { ...stats, deadShare: 1.5 }] };
    writeFileSync(file, `${JSON.stringify(init)}\n${JSON.stringify(bad)}\n`);
    await expect(Journal.read(file)).rejects.toThrow(/journal\.jsonl:2: field `lossStats\.2\.deadShare`/);
  });
});

describe("resumePoint", () => {
  const config = tinyConfig();

  it("starts a fresh run from the initial policy with no checkpoint", () => {
    const point = resumePoint(config, []);
    expect(point.nextEpoch).toBe(0);
    expect(point.start).toBeNull();
    expect(point.policy).toEqual(createPolicy(policyConfig(config)));
  });

  it("continues after the last complete epoch with its mu, Adam state and checkpoint", () => {
    const e0 = epochRecord(0);
    const e1 = epochRecord(1, e0.next);
    const point = resumePoint(config, [init, e0.record, e1.record]);
    expect(point.nextEpoch).toBe(2);
    expect(point.policy.mu).toEqual(e1.next.mu);
    expect(point.policy.adam).toEqual(e1.next.adam);
    expect(point.start).toEqual({ file: e1.record.checkpoint, sha256: e1.record.sha256, sizeBytes: 10 });
    expect(point.final).toBeNull();
  });

  it("starts from w_0 after the init record alone", () => {
    const point = resumePoint(config, [init]);
    expect(point.start?.file).toBe("checkpoints/w_0000.safetensors");
    expect(point.nextEpoch).toBe(0);
  });

  it("refuses a journal that does not fit the config", () => {
    const bigger = tinyConfig({ B: 4 });
    expect(() => resumePoint(bigger, [init, epochRecord(0).record])).toThrow(/expected B = 4/);
  });
});
