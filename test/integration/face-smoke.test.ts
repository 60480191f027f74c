/**
 * A face search end to end with the real Python worker: `amlfs search --json` as a real
 * process on a tiny CASIA-WebFace + LFW fixture (written by `python -m amlfs.fixtures.face`),
 * the CosFace network shrunk to 32 x 32 faces, the searched head starting at the CosFace
 * point, B = 2, one epoch, one CPU worker. The journal holds init, one epoch and the final
 * record, whose LFW metrics are fractions in [0, 1]; `amlfs compare` lays the run out as
 * the paper's Table 3.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, pythonPath } from "../../src/launch/python.js";
import { PYTHON, SKIP_REASON } from "./python-env.js";
import { BIN, expectFractions, smokeSearch } from "./smoke-search.js";

const TIMEOUT_MS = 180_000;
const METRICS = ["verificationAccuracy", "verificationAccuracyStd", "tarAtFar1e-3"];

describe.skipIf(SKIP_REASON !== null)(`face smoke search with the real worker${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "amlfs-face-smoke-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("searches the CosFace network on a tiny CASIA-WebFace and reports LFW verification", { timeout: TIMEOUT_MS }, async () => {
    const root = join(dir, "face");
    const fixture = await execa(PYTHON, ["-m", "amlfs.fixtures.face", root, "--ids", "20", "--per-id", "5"],
      { reject: false, env: { PYTHONPATH: pythonPath() ?? "" }, extendEnv: true });
    expect(fixture.exitCode, fixture.stderr).toBe(0);

    const config = {
      name: "cosface-smoke",
      seed: 0,
      baseline: {
        name: "cosface",
        options: { heightPx: 32, widthPx: 32, embeddingDim: 32, batchSize: 16, evalBatchSize: 64, numWorkers: 0,
          valPairsPerFold: 5 },
      },
      dataset: { kind: "casia-webface", root, splits: { valFraction: 0.2, splitSeed: 0 } },
      search: { mode: "amlfs", B: 2, M: 6, epochs: 1, init: { kind: "cosineMargin", margin: 0.4 } },
      workers: { count: 1, devices: "cpu", threadsPerWorker: 2 },
      reward: { metric: "verificationAccuracy" },
    };
    const { out, records } = await smokeSearch(dir, config, TIMEOUT_MS - 20_000);
    expect(records.map((record) => record.kind)).toEqual(["init", "epoch", "final"]);
    expect(records[1]?.rewards?.length).toBe(2);
    const metrics = records[2]?.metrics ?? {};
    expect(Object.keys(metrics).sort()).toEqual([...METRICS].sort());
    expectFractions(metrics, METRICS);

    const compare = await execa(process.execPath, [BIN, "compare", out], { reject: false, cwd: REPO_ROOT });
    expect(compare.exitCode, compare.stderr).toBe(0);
    expect(compare.stdout).toContain("test LFW acc %");
  });
});
