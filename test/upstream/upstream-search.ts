/**
 * What the searches through the upstream adapters share: the workers' Python (.venv-upstream), the
 * snapshots' folder ($AMLFS_UPSTREAM_DIR), why a test skips, and one `amlfs search --json` run as a
 * real process with its journal read back and checked for two epochs of two samples.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { expect } from "vitest";
import { REPO_ROOT, pythonPath } from "../../src/launch/python.js";
import { BIN } from "../integration/smoke-search.js";

export const PYTHON = join(REPO_ROOT, ".venv-upstream", "bin", "python");
export const UPSTREAM_DIR = process.env.AMLFS_UPSTREAM_DIR ?? resolve(REPO_ROOT, "..", "shared", "upstream");

/** The environment of the searches and fixture writers: workers in .venv-upstream. */
export const UPSTREAM_ENV = { AMLFS_PYTHON: PYTHON, AMLFS_WORKER_COMMAND: "", PYTHONPATH: pythonPath() ?? "" };

/** Why a search over the snapshot `folder` (holding `file`) of `repository` cannot run here, or null. */
export function skipReason(folder: string, file: string, repository: string): string | null {
  if (!existsSync(PYTHON)) return `no ${PYTHON} (make upstream-venv)`;
  if (!existsSync(join(folder, file))) return `no ${repository} snapshot at ${folder} (set AMLFS_UPSTREAM_DIR)`;
  return null;
}

export interface JournalRecord {
  kind: string;
  rewards?: number[];
  metrics?: Record<string, number | null>;
}

/**
 * `amlfs search <config> --out <dir>/run --json` with the workers in .venv-upstream; expects it to
 * finish (exit 0, a "finished" summary) with a journal of init, two epochs of two rewards each, final.
 */
export async function runUpstreamSearch(dir: string, config: unknown, timeoutMs: number): Promise<{ records: JournalRecord[]; workerLog: string }> {
  const configPath = join(dir, "config.json");
  writeFileSync(configPath, JSON.stringify(config));
  const out = join(dir, "run");
  const result = await execa(process.execPath, [BIN, "search", configPath, "--out", out, "--json"], {
    reject: false, cwd: REPO_ROOT, env: UPSTREAM_ENV, extendEnv: true, timeout: timeoutMs,
  });
  const log = join(out, "logs", "w0.log");
  const workerLog = existsSync(log) ? readFileSync(log, "utf8") : "(no worker log)";
  expect(result.exitCode, `${result.stderr}\n${workerLog.slice(-3000)}`).toBe(0);

  const records = readFileSync(join(out, "journal.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as JournalRecord);
  expect(records.map((record) => record.kind)).toEqual(["init", "epoch", "epoch", "final"]);
  for (const epoch of records.filter((record) => record.kind === "epoch")) {
    expect(epoch.rewards).toHaveLength(2);
    for (const reward of epoch.rewards ?? []) expect(reward).toBeGreaterThanOrEqual(0);
  }
  const summary = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as { type: string; status: string };
  expect(summary).toMatchObject({ type: "summary", status: "finished" });
  return { records, workerLog };
}
