/**
 * A re-ID search end to end with the real Python worker: `amlfs search --json` as a real
 * process on a tiny Market-1501 fixture (written by `python -m amlfs.fixtures.reid`),
 * SphereReID shrunk to 64 x 32 images, P = K = 2, B = 2, one epoch, one CPU worker. The
 * journal holds init, one epoch and the final record, whose test metrics include the plain
 * and the re-ranked retrieval metrics, each a fraction in [0, 1]. ResNet-50 on CPU: 17 s
 * on an idle 2-core machine, 80 s under load (the timeout is 240 s).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, pythonPath } from "../../src/launch/python.js";
import { PYTHON, SKIP_REASON } from "./python-env.js";
import { BIN, expectFractions, smokeSearch } from "./smoke-search.js";

const TIMEOUT_MS = 240_000;
const METRICS = ["mAP", "rank1", "rank5", "rank10"];

describe.skipIf(SKIP_REASON !== null)(`re-ID smoke search with the real worker${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "amlfs-reid-smoke-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true })); // checkpoints are ~280 MB each

  it("searches SphereReID on a tiny Market-1501 and reports plain and re-ranked test metrics", { timeout: TIMEOUT_MS }, async () => {
    const root = join(dir, "Market-1501-v15.09.15");
    const fixture = await execa(PYTHON, ["-m", "amlfs.fixtures.reid", root, "--layout", "market", "--ids", "6", "--per-id", "4",
      "--height", "64", "--width", "32"], { reject: false, env: { PYTHONPATH: pythonPath() ?? "" }, extendEnv: true });
    expect(fixture.exitCode, fixture.stderr).toBe(0);

    const config = {
      name: "spherereid-smoke",
      seed: 0,
      baseline: {
        name: "spherereid",
        options: { p: 2, k: 2, heightPx: 64, widthPx: 32, cropHeightPx: 56, cropWidthPx: 28, embeddingDim: 64,
          evalBatchSize: 64, numWorkers: 0, strict: false },
      },
      dataset: { kind: "market1501", root, splits: { valFraction: 0.34, splitSeed: 0 } },
      search: { mode: "amlfs", B: 2, M: 6, epochs: 1 },
      workers: { count: 1, devices: "cpu", threadsPerWorker: 2 },
      reward: { metric: "mAP" },
    };
    const { stdout, records } = await smokeSearch(dir, config, TIMEOUT_MS - 20_000);
    expect(records.map((record) => record.kind)).toEqual(["init", "epoch", "final"]);
    const metrics = records[2]?.metrics ?? {};
    const expected = [...METRICS, ...METRICS.map((name) => `${name}_rerank`)];
    expect(Object.keys(metrics).sort()).toEqual([...expected].sort());
    expectFractions(metrics, expected);
    const summary = JSON.parse(stdout.trim().split("\n").at(-1) as string) as { type: string; status: string };
    expect(summary).toMatchObject({ type: "summary", status: "finished" });
  });
});
