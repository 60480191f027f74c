/**
 * The report layout of `amlfs compare` and the end-of-run summary, on synthetic run
 * directories (a real config parsed with parseExperiment, a journal written through
 * `Journal.append`): re-ID final metrics in the paper's Tables 4/5 columns as percentages,
 * classification metrics one column each, chosen by the metric keys present.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { readRunOutcome } from "../../src/orchestrate/run-outcome.js";
import { formatPercent } from "../../src/report/numbers.js";
import { summaryLines } from "../../src/cli/summary.js";
import { REPO_ROOT } from "../../src/launch/python.js";
import { Journal, type EpochRecord, type FinalRecord } from "../../src/orchestrate/journal.js";
import { CONFIG_FILE, JOURNAL_FILE } from "../../src/orchestrate/run-dir.js";
import { parseExperiment } from "../../src/schema/index.js";

const SHA = "a".repeat(64);
const TIME = "2026-01-01T00:00:00.000Z";
const REID_CONFIG = join(REPO_ROOT, "configs", "reid", "spherereid-market1501.json");
const CIFAR_CONFIG = join(REPO_ROOT, "configs", "cifar10", "resnet20-noise0-amlfs.json");
const FACE_CONFIG = join(REPO_ROOT, "configs", "face", "cosface-casia.json");
const FACE_METRICS = { verificationAccuracy: 0.99217, verificationAccuracyStd: 0.00351, "tarAtFar1e-3": 0.9634 };

const REID_METRICS = {
  mAP: 0.71234,
  rank1: 0.88449,
  rank5: 0.95001,
  rank10: 0.97,
  mAP_rerank: 0.85551,
  rank1_rerank: 0.9,
  rank5_rerank: 0.94949,
  rank10_rerank: 0.96,
};

function epochRecord(epoch: number, bestReward: number): EpochRecord {
  const mu = [1, 0];
  return {
    kind: "epoch", epoch, seed: epoch, thetas: [mu, mu], rewards: [bestReward, bestReward / 2], failures: [],
    normalized: [1, -1], best: 0, bestReward, muBefore: mu, mu, adam: { step: epoch + 1, m: [0, 0], v: [0, 0] },
    applied: true, validity: [], winner: { taskId: `e${epoch}-s0`, workerId: "w0" },
    checkpoint: `checkpoints/epoch-${epoch}.pt`, sha256: SHA, sizeBytes: 1,
    timingsMs: { epoch: 1, upload: 1, tasks: [null, null] }, time: TIME,
  };
}

function finalRecord(metrics: Record<string, number | null>): FinalRecord {
  return {
    kind: "final", metrics, reward: metrics.mAP ?? metrics.top1 ?? null, split: "test",
    checkpoint: "checkpoints/final.pt", sha256: SHA, sizeBytes: 1, model: "model.pt",
    taskId: "final", workerId: "w0", time: TIME,
  };
}

/** A run directory: `configPath` parsed and written as config.json, a journal of `epochs` epochs and the final record. */
async function runDir(configPath: string, rewards: number[], final: Record<string, number | null> | null): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "amlfs-layout-"));
  const config = parseExperiment(JSON.parse(readFileSync(configPath, "utf8")), configPath);
  writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(config));
  const journal = await Journal.read(join(dir, JOURNAL_FILE));
  await journal.append({ kind: "init", checkpoint: "checkpoints/init.pt", sha256: SHA, sizeBytes: 1, seed: 0, workerId: "w0", time: TIME });
  for (const [epoch, reward] of rewards.entries()) await journal.append(epochRecord(epoch, reward));
  if (final !== null) await journal.append(finalRecord(final));
  return dir;
}

async function compare(dirs: string[]): Promise<{ code: number; rows: string[][] }> {
  let out = "";
  const code = await main(["compare", ...dirs], { out: (text) => (out += text), err: (text) => (out += text) });
  const rows = out.trim().split("\n").map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()));
  return { code, rows };
}

describe("amlfs compare: layout by metric keys", () => {
  it("lays re-ID runs out as the paper's Tables 4/5, in percent with one decimal", async () => {
    const search = await runDir(REID_CONFIG, [0.5, 0.6], REID_METRICS);
    const noRerank = await runDir(REID_CONFIG, [0.4], { mAP: 0.5, rank1: 0.75, rank5: 0.875, rank10: 1 });
    const unfinished = await runDir(REID_CONFIG, [0.3], null);
    const { code, rows } = await compare([search, noRerank, unfinished]);
    expect(code).toBe(1); // one run has no final record
    expect(rows[0]).toEqual([
      "run", "mode", "B", "epochs", "val reward (last)",
      "test mAP %", "test rank-1 %", "test rank-5 %", "test mAP (re-rank) %", "test rank-1 (re-rank) %", "test rank-5 (re-rank) %",
    ]);
    expect(rows[1]?.every((cell) => /^-+$/.test(cell))).toBe(true);
    expect(rows[2]?.slice(1)).toEqual(["amlfs", "32", "2/140", "0.6000", "71.2", "88.4", "95.0", "85.6", "90.0", "94.9"]);
    expect(rows[3]?.slice(5)).toEqual(["50.0", "75.0", "87.5", "-", "-", "-"]);
    expect(rows[4]?.slice(3)).toEqual(["1/140", "0.3000", ...Array(6).fill("(not finished)")]);
    expect(rows.flat().join(" ")).not.toContain("rank10");
  });

  it("lays face runs out as the paper's Table 3 (LFW accuracy, its std, TAR@FAR)", async () => {
    const face = await runDir(FACE_CONFIG, [0.95], FACE_METRICS);
    const { code, rows } = await compare([face]);
    expect(code).toBe(0);
    expect(rows[0]?.slice(5)).toEqual(["test LFW acc %", "test LFW std %", "test TAR@FAR=1e-3 %"]);
    expect(rows[2]?.slice(1)).toEqual(["baseline", "1", "1/35", "0.9500", "99.2", "0.4", "96.3"]);
    const lines = summaryLines("runs/f", { epochs: [], mu: [], final: finalRecord(FACE_METRICS) });
    expect(lines).toContain("  final test metrics (%):");
    expect(lines.join("\n")).toContain("| 99.2    | 0.4     | 96.3         |");
  });

  it("keeps one column per metric for classification runs, and for a mix of kinds", async () => {
    const cifar = await runDir(CIFAR_CONFIG, [0.9], { top1: 0.91234 });
    const alone = await compare([cifar]);
    expect(alone.code).toBe(0);
    expect(alone.rows[0]).toEqual(["run", "mode", "B", "epochs", "val reward (last)", "test top1"]);
    expect(alone.rows[2]?.at(-1)).toBe("0.9123");

    const reid = await runDir(REID_CONFIG, [0.5], REID_METRICS);
    const mixed = await compare([cifar, reid]);
    expect(mixed.rows[0]?.slice(5)).toEqual(["test top1", ...Object.keys(REID_METRICS).map((name) => `test ${name}`)]);
    expect(mixed.rows[3]?.slice(5, 7)).toEqual(["-", "0.7123"]);
  });
});

describe("end-of-run summary: final metrics by metric keys", () => {
  it("prints re-ID final metrics as a Tables 4/5 row, the rest on one line", async () => {
    const outcome = await readRunOutcome(await runDir(REID_CONFIG, [0.5], REID_METRICS));
    const final = outcome.final as FinalRecord;
    const lines = summaryLines("runs/x", { epochs: [{ epoch: 0, best: 0, bestReward: 0.5, rewards: [0.5] }], mu: [], final });
    const at = lines.indexOf("  final test metrics (%):");
    expect(at).toBeGreaterThan(0);
    const cells = (line: string | undefined) => (line ?? "").split("|").slice(1, -1).map((cell) => cell.trim());
    expect(cells(lines[at + 1])).toEqual(["mAP", "rank-1", "rank-5", "mAP (re-rank)", "rank-1 (re-rank)", "rank-5 (re-rank)"]);
    expect(cells(lines[at + 3])).toEqual(["71.2", "88.4", "95.0", "85.6", "90.0", "94.9"]);
    expect(lines[at + 4]).toBe("  other final test metrics: rank10 0.9700, rank10_rerank 0.9600");
    expect(lines.at(-2)).toBe("  final model: runs/x/model.pt");
  });

  it("keeps the one-line metrics for classification", () => {
    const lines = summaryLines("runs/y", { epochs: [], mu: [], final: finalRecord({ top1: 0.5 }) });
    expect(lines).toContain("  final test metrics: top1 0.5000");
    expect(lines.join("\n")).not.toContain("(%)");
  });

  it("formats percentages with one decimal", () => {
    expect([0.71234, 1, 0, null, undefined, Number.NaN].map(formatPercent)).toEqual(["71.2", "100.0", "0.0", "-", "-", "NaN"]);
  });
});
