/**
 * A small run directory written by hand (config.json + journal.jsonl, no checkpoints): the
 * report reads nothing else. mu moves by a known step each epoch so tests can check it.
 */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/launch/python.js";
import type { LossStats } from "../../src/schema/wire/loss-stats.js";
import { parseExperiment } from "../../src/schema/index.js";

export const M = 2;
const SHA = "0".repeat(64);

export interface SyntheticRun {
  path: string;
  /** mu_0 .. mu_E as written. */
  mu: number[][];
  rewards: (number | null)[][];
}

/**
 * The `lossStats` the synthetic run gives sample `sample` of epoch `epoch`: dead shares that
 * grow with both, c that falls with the sample; with `withT`, some examples dead for t too.
 */
export function syntheticLossStats(epoch: number, sample: number, withT: boolean): LossStats {
  return {
    examples: 100 + 10 * sample,
    flooredShare: 0.05 * sample,
    deadShare: 0.1 * (sample + 1) + 0.05 * epoch,
    meanC: 1 - 0.2 * sample,
    tDeadShare: withT ? 0.3 + 0.1 * sample : 0,
    meanTSlope: withT ? 0.7 : 1,
  };
}

/**
 * `epochs` epoch records; in "amlfs" mode mu[e + 1] = mu[e] + 0.01 * (e + 1) on every
 * coordinate, in "baseline" mode mu stays the identity. `final`: metrics of the final record.
 * `lossStats`: "tau" (default) gives each finished sample `syntheticLossStats(e, k, false)`,
 * "t" `syntheticLossStats(e, k, true)`, "none" writes records without the field (a journal
 * of an earlier version).
 */
export function writeSyntheticRun(options: {
  mode?: "amlfs" | "baseline";
  epochs?: number;
  final?: Record<string, number> | null;
  name?: string;
  root?: string;
  lossStats?: "tau" | "t" | "none";
} = {}): SyntheticRun {
  const mode = options.mode ?? "amlfs";
  const epochs = options.epochs ?? 3;
  const lossStats = options.lossStats ?? "tau";
  const root = options.root ?? mkdtempSync(join(tmpdir(), "amlfs-report-"));
  const path = join(root, options.name ?? mode);
  mkdirSync(path, { recursive: true });
  const base = JSON.parse(readFileSync(join(REPO_ROOT, "configs", "demo", "digits-amlfs.json"), "utf8")) as Record<string, unknown>;
  const B = mode === "baseline" ? 1 : 3;
  const search = { ...(base.search as object), mode, B, M, epochs: Math.max(1, epochs) };
  const workers = { ...(base.workers as object), count: 1 };
  // Frozen as a run freezes it: validated, every default filled in (search.space included).
  const config = parseExperiment({ ...base, name: `synthetic-${mode}`, search, workers });
  writeFileSync(join(path, "config.json"), JSON.stringify(config, null, 2));

  const identity = [1, 1, 0, 0, 1, 1, 0, 0];
  const mu = [identity];
  const rewards: (number | null)[][] = [];
  const lines: unknown[] = [{ kind: "init", checkpoint: "checkpoints/w_0000.safetensors", sha256: SHA, sizeBytes: 1, seed: 0, workerId: "w0", time: "t" }];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const before = mu[epoch] as number[];
    const after = mode === "baseline" ? before : before.map((value) => value + 0.01 * (epoch + 1));
    mu.push(after);
    const epochRewards = mode === "baseline" ? [0.5 + 0.1 * epoch] : [0.2 + 0.1 * epoch, 0.4 + 0.1 * epoch, epoch === 1 ? null : 0.3 + 0.1 * epoch];
    rewards.push(epochRewards);
    const best = epochRewards.indexOf(Math.max(...epochRewards.filter((r): r is number => r !== null)));
    lines.push({
      kind: "epoch",
      epoch,
      seed: epoch,
      thetas: epochRewards.map(() => after),
      rewards: epochRewards,
      failures: epochRewards.flatMap((reward, sample) =>
        reward === null ? [{ sample, taskId: `e${epoch}-s${sample}`, workerId: "w1", reason: "crashed", requeued: false }] : [],
      ),
      normalized: epochRewards.map((reward) => (reward === null ? null : 0)),
      best,
      bestReward: epochRewards[best],
      muBefore: before,
      mu: after,
      adam: { step: mode === "baseline" ? 0 : epoch + 1, m: after.map(() => 0), v: after.map(() => 0) },
      applied: mode !== "baseline",
      validity: epochRewards.map(() => ({ tauMin: 0, tauFlooredFraction: 0, negativeSlopesT: 0, negativeSlopesTau: 0 })),
      ...(lossStats === "none"
        ? {}
        : { lossStats: epochRewards.map((reward, sample) => (reward === null ? null : syntheticLossStats(epoch, sample, lossStats === "t"))) }),
      winner: { taskId: `e${epoch}-s${best}`, workerId: "w0" },
      checkpoint: `checkpoints/w_000${epoch + 1}.safetensors`,
      sha256: SHA,
      sizeBytes: 1,
      timingsMs: { epoch: 1, upload: 1, tasks: epochRewards.map(() => null) },
      time: "t",
    });
  }
  if (options.final !== null) {
    lines.push({
      kind: "final",
      metrics: options.final ?? { top1: 0.9, loss: 0.3 },
      reward: 0.9,
      split: "test",
      checkpoint: `checkpoints/w_000${epochs}.safetensors`,
      sha256: SHA,
      sizeBytes: 1,
      model: "final/model.safetensors",
      taskId: "final",
      workerId: "w0",
      time: "t",
    });
  }
  writeFileSync(join(path, "journal.jsonl"), lines.map((line) => `${JSON.stringify(line)}\n`).join(""));
  return { path, mu, rewards };
}
