/**
 * A search on CoinCheung/SphereReID's own code: `amlfs search --json` as a real process, baseline
 * `upstream` with adapter `spherereid-coincheung` over the snapshot in $AMLFS_UPSTREAM_DIR, the
 * workers in .venv-upstream (torchvision), on a tiny Market-1501 fixture: B = 2 samples, 2 epochs,
 * P = K = 2 (one step per epoch on the fixture's 3 training identities), one CPU worker. The
 * repository resizes to 288 x 144 itself, so each step is a full-size ResNet-50 step: about 30 s
 * on a 2-core machine. Skipped, saying why, without .venv-upstream or the snapshot.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, pythonPath } from "../../src/launch/python.js";
import { BIN, expectFractions } from "../integration/smoke-search.js";

const TIMEOUT_MS = 240_000;
const PYTHON = join(REPO_ROOT, ".venv-upstream", "bin", "python");
const UPSTREAM_DIR = process.env.AMLFS_UPSTREAM_DIR ?? resolve(REPO_ROOT, "..", "shared", "upstream");
const REPO = join(UPSTREAM_DIR, "CoinCheung-SphereReID");

function skipReason(): string | null {
  if (!existsSync(PYTHON)) return `no ${PYTHON} (make upstream-venv)`;
  if (!existsSync(join(REPO, "backbone.py"))) return `no CoinCheung/SphereReID snapshot at ${REPO} (set AMLFS_UPSTREAM_DIR)`;
  return null;
}

const SKIP_REASON = skipReason();

describe.skipIf(SKIP_REASON !== null)(`search on CoinCheung/SphereReID${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "amlfs-coincheung-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true })); // checkpoints are hundreds of MB each

  it("runs two epochs of two samples through the adapter and reports retrieval metrics", { timeout: TIMEOUT_MS }, async () => {
    const env = { AMLFS_PYTHON: PYTHON, AMLFS_WORKER_COMMAND: "", PYTHONPATH: pythonPath() ?? "" };
    const root = join(dir, "Market-1501-v15.09.15");
    const fixture = await execa(PYTHON, ["-m", "amlfs.fixtures.reid", root, "--layout", "market", "--ids", "4",
      "--per-id", "4", "--height", "32", "--width", "16"], { reject: false, env, extendEnv: true });
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
    expectFractions(records.at(-1)?.metrics ?? {}, ["mAP", "rank1"]);
    expect(workerLog).toContain("spherereid-coincheung: no `baseline.options.pretrainedPath`; the network trains from scratch"); // no pretrainedPath: the download is not made
    const summary = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as { type: string; status: string };
    expect(summary).toMatchObject({ type: "summary", status: "finished" });
  });
});
