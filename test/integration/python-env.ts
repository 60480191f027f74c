/**
 * The Python that runs the real worker (resolved as the launcher does), and whether
 * `amlfs.worker` imports in it; integration tests are skipped, saying why, when not.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, pythonPath, resolvePython } from "../../src/launch/python.js";
import { scaled } from "../helpers/load.js";

export const PYTHON = resolvePython();
export const FIXTURES = join(REPO_ROOT, "test", "fixtures", "workers");
export const DEMO_CONFIG = join(REPO_ROOT, "configs", "demo", "digits-amlfs.json");

function probe(): string | null {
  try {
    const env = { ...process.env, PYTHONPATH: pythonPath() ?? "" };
    execFileSync(PYTHON, ["-c", "import amlfs.worker, torch, zmq"], { env, stdio: "pipe", timeout: scaled(60_000) });
    return null;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim().split("\n").at(-1);
    return `no Python with amlfs.worker importable (${PYTHON}: ${stderr || (error as Error).message})`;
  }
}

/** Null when the real worker can run here, else why the integration tests are skipped. */
export const SKIP_REASON = probe();

/**
 * The digits demo config (configs/demo/digits-amlfs.json; a copy of its essentials when
 * it is absent), made tiny: B = 3, W = 2, `epochs` epochs, a short heartbeat timeout.
 */
export function tinyDemoConfig(fields: { epochs?: number; heartbeatTimeoutMs?: number; seed?: number } = {}): string {
  const base: Record<string, unknown> = existsSync(DEMO_CONFIG)
    ? (JSON.parse(readFileSync(DEMO_CONFIG, "utf8")) as Record<string, unknown>)
    : {
        name: "digits-amlfs",
        seed: 0,
        baseline: { name: "small-cnn" },
        dataset: { kind: "digits", labelNoise: { ratio: 0.2, seed: 0 } },
        search: { mode: "amlfs", M: 6, epochs: 6 },
        workers: { devices: "cpu", threadsPerWorker: 1 },
        reward: { metric: "top1" },
      };
  const search = { ...(base.search as object), B: 3, epochs: fields.epochs ?? 2 };
  const workers = { ...(base.workers as object), count: 2, heartbeatTimeoutMs: fields.heartbeatTimeoutMs ?? 4000 };
  const config = { ...base, name: "digits-tiny", seed: fields.seed ?? 0, search, workers };
  const path = join(mkdtempSync(join(tmpdir(), "amlfs-int-")), "config.json");
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}
