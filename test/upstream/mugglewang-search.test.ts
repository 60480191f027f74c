/**
 * A search on MuggleWang/CosFace_pytorch's own code: `amlfs search --json` as a real process, baseline
 * `upstream` with adapter `cosface-mugglewang` over the snapshot in $AMLFS_UPSTREAM_DIR, the workers in
 * .venv-upstream (torchvision), on a tiny CASIA-WebFace + LFW fixture of 112 x 96 faces (sphere20's
 * input): B = 2 samples, 2 epochs, 12 training images in batches of 6 (two of main.py's steps per task),
 * one CPU worker. Skipped, saying why, without .venv-upstream or the snapshot.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { expectFractions } from "../integration/smoke-search.js";
import { PYTHON, UPSTREAM_DIR, UPSTREAM_ENV, runUpstreamSearch, skipReason } from "./upstream-search.js";

const TIMEOUT_MS = 180_000;
const REPO = join(UPSTREAM_DIR, "MuggleWang-CosFace_pytorch");
const SKIP_REASON = skipReason(REPO, "main.py", "MuggleWang/CosFace_pytorch");

describe.skipIf(SKIP_REASON !== null)(`search on MuggleWang/CosFace_pytorch${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "amlfs-mugglewang-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true })); // checkpoints are about 180 MB each

  it("runs two epochs of two samples through main.train and reports verification accuracy", { timeout: TIMEOUT_MS }, async () => {
    const root = join(dir, "face");
    // 8 identities x 3 images; valFraction 0.5 holds 4 out (two folds of validation pairs), 4 x 3 train
    const fixture = await execa(PYTHON, ["-m", "amlfs.fixtures.face", root, "--ids", "8", "--per-id", "3"],
      { reject: false, env: UPSTREAM_ENV, extendEnv: true });
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
    const { records, workerLog } = await runUpstreamSearch(dir, config, TIMEOUT_MS - 20_000);
    expectFractions(records.at(-1)?.metrics ?? {}, ["verificationAccuracy"]);
    // main.train's own log lines: the second search epoch continues the repository's epoch count
    expect(workerLog.match(/Epoch 1 start training/g)).toHaveLength(2);
    expect(workerLog.match(/Epoch 2 start training/g)).toHaveLength(2);
  });
});
