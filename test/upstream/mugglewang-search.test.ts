/**
 * A search on MuggleWang/CosFace_pytorch's own code: `amlfs search --json` as a real process, baseline
 * `upstream` with adapter `cosface-mugglewang` over the snapshot in $AMLFS_UPSTREAM_DIR, the workers in
 * .venv-upstream (torchvision), on a tiny CASIA-WebFace + LFW fixture of 112 x 96 faces (sphere20's
 * input): B = 2 samples, 2 epochs, 12 training images in batches of 6 (two of main.py's steps per task),
 * one CPU worker. Skipped, saying why, without .venv-upstream or the snapshot.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, pythonPath } from "../../src/launch/python.js";
import { BIN, expectFractions } from "../integration/smoke-search.js";

const TIMEOUT_MS = 180_000;
const PYTHON = join(REPO_ROOT, ".venv-upstream", "bin", "python");
const UPSTREAM_DIR = process.env.AMLFS_UPSTREAM_DIR ?? resolve(REPO_ROOT, "..", "shared", "upstream");
const REPO = join(UPSTREAM_DIR, "MuggleWang-CosFace_pytorch");

function skipReason(): string | null {
  if (!existsSync(PYTHON)) return `no ${PYTHON} (make upstream-venv)`;
  if (!existsSync(join(REPO, "main.py"))) return `no MuggleWang/CosFace_pytorch snapshot at ${REPO} (set AMLFS_UPSTREAM_DIR)`;
  return null;
}

const SKIP_REASON = skipReason();

describe.skipIf(SKIP_REASON !== null)(`search on MuggleWang/CosFace_pytorch${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "amlfs-mugglewang-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true })); // checkpoints are about 180 MB each

  it("runs two epochs of two samples through main.train and reports verification accuracy", { timeout: TIMEOUT_MS }, async () => {
    const env = { AMLFS_PYTHON: PYTHON, AMLFS_WORKER_COMMAND: "", PYTHONPATH: pythonPath() ?? "" };
    const root = join(dir, "face");
    // 8 identities x 3 images; valFraction 0.5 holds 4 out (two folds of validation pairs), 4 x 3 train
    const fixture = await execa(PYTHON, ["-m", "amlfs.fixtures.face", root, "--ids", "8", "--per-id", "3"],
      { reject: false, env, extendEnv: true });
    expect(fixture.exitCode, fixture.stderr).toBe(0);

    const config = {
      name: "mugglewang-smoke",
      seed: 0,
      baseline: {
        name: "upstream",
        options: { adapter: "cosface-mugglewang", repo: REPO, batchSize: 6, numWorkers: 0, evalBatchSize: 32, strict: false },
      },
      dataset: { kind: "casia-webface", root, splits: { valFraction: 0.5, splitSeed: 0 } },
      search: { mode: "amlfs", B: 2, M: 6, epochs: 2, init: { kind: "cosineMargin", margin: 0.4 } },
      workers: { count: 1, devices: "cpu", threadsPerWorker: 2 },
      reward: { metric: "verificationAccuracy" },
    };
    const configPath = join(dir, "config.json");
    writeFileSync(configPath, JSON.stringify(config));
    const out = join(dir, "run");
    const result = await execa(process.execPath, [BIN, "search", configPath, "--out", out, "--json"], {
      reject: false, cwd: REPO_ROOT, env, extendEnv: true, timeout: TIMEOUT_MS - 20_000,
    });
    const log = join(out, "logs", "w0.log");
    const workerLog = existsSync(log) ? readFileSync(log, "utf8") : "(no worker log)";
    expect(result.exitCode, `${result.stderr}\n${workerLog.slice(-3000)}`).toBe(0);

    const records = readFileSync(join(out, "journal.jsonl"), "utf8").trim().split("\n")
      .map((line) => JSON.parse(line) as { kind: string; rewards?: number[]; metrics?: Record<string, number | null> });
    expect(records.map((record) => record.kind)).toEqual(["init", "epoch", "epoch", "final"]);
    for (const epoch of records.filter((record) => record.kind === "epoch")) {
      expect(epoch.rewards).toHaveLength(2);
      for (const reward of epoch.rewards ?? []) expect(reward).toBeGreaterThanOrEqual(0);
    }
    expectFractions(records.at(-1)?.metrics ?? {}, ["verificationAccuracy"]);
    // main.train's own log lines: the second search epoch continues the repository's epoch count
    expect(workerLog.match(/Epoch 1 start training/g)).toHaveLength(2);
    expect(workerLog.match(/Epoch 2 start training/g)).toHaveLength(2);
    const summary = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as { type: string; status: string };
    expect(summary).toMatchObject({ type: "summary", status: "finished" });
  });
});
