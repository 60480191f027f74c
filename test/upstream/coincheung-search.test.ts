/**
 * A search on CoinCheung/SphereReID's own code: `amlfs search --json` as a real process, baseline
 * `upstream` with adapter `spherereid-coincheung` over the snapshot in $AMLFS_UPSTREAM_DIR, the
 * workers in .venv-upstream (torchvision), on a tiny Market-1501 fixture: B = 2 samples, 2 epochs,
 * P = K = 2 (one step per epoch on the fixture's 3 training identities), one CPU worker. The
 * repository resizes to 288 x 144 itself, so each step is a full-size ResNet-50 step: about 30 s
 * on a 2-core machine. Skipped, saying why, without .venv-upstream or the snapshot.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { expectFractions } from "../integration/smoke-search.js";
import { PYTHON, UPSTREAM_DIR, UPSTREAM_ENV, runUpstreamSearch, skipReason } from "./upstream-search.js";

const TIMEOUT_MS = 240_000;
const REPO = join(UPSTREAM_DIR, "CoinCheung-SphereReID");
const SKIP_REASON = skipReason(REPO, "backbone.py", "CoinCheung/SphereReID");

describe.skipIf(SKIP_REASON !== null)(`search on CoinCheung/SphereReID${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "amlfs-coincheung-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true })); // checkpoints are hundreds of MB each

  it("runs two epochs of two samples through the adapter and reports retrieval metrics", { timeout: TIMEOUT_MS }, async () => {
    const root = join(dir, "Market-1501-v15.09.15");
    const fixture = await execa(PYTHON, ["-m", "amlfs.fixtures.reid", root, "--layout", "market", "--ids", "4",
      "--per-id", "4", "--height", "32", "--width", "16"], { reject: false, env: UPSTREAM_ENV, extendEnv: true });
    expect(fixture.exitCode, fixture.stderr).toBe(0);

    const config = {
      name: "coincheung-smoke",
      seed: 0,
      baseline: {
        name: "upstream",
        options: { adapter: "spherereid-coincheung", repo: REPO, p: 2, k: 2, numWorkers: 0, evalBatchSize: 32, strict: false },
      },
      dataset: { kind: "market1501", root, splits: { valFraction: 0.34, splitSeed: 0 } },
      search: { mode: "amlfs", B: 2, M: 6, epochs: 2 },
      workers: { count: 1, devices: "cpu", threadsPerWorker: 2 },
      reward: { metric: "mAP" },
    };
    const { records, workerLog } = await runUpstreamSearch(dir, config, TIMEOUT_MS - 20_000);
    expectFractions(records.at(-1)?.metrics ?? {}, ["mAP", "rank1"]);
    expect(workerLog).toContain("spherereid-coincheung: no `baseline.options.pretrainedPath`; the network trains from scratch"); // no pretrainedPath: the download is not made
  });
});
