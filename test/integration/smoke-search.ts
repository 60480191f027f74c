/**
 * What the smoke searches share: write a config, run `amlfs search --json` as a real process
 * with the built-in worker, and read back the journal. A failed run fails the calling test with
 * the CLI's stderr and the tail of the first worker's log.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { expect } from "vitest";
import { REPO_ROOT } from "../../src/launch/python.js";

export const BIN = join(REPO_ROOT, "bin", "amlfs.mjs");

export interface SmokeRun {
  out: string;
  stdout: string;
  records: { kind: string; metrics?: Record<string, number | null>; rewards?: number[] }[];
}

export async function smokeSearch(dir: string, config: object, timeoutMs: number): Promise<SmokeRun> {
  const configPath = join(dir, "config.json");
  writeFileSync(configPath, JSON.stringify(config));
  const out = join(dir, "run");
  const result = await execa(process.execPath, [BIN, "search", configPath, "--out", out, "--json"], {
    reject: false, cwd: REPO_ROOT, env: { AMLFS_WORKER_COMMAND: "" }, extendEnv: true, timeout: timeoutMs,
  });
  const log = join(out, "logs", "w0.log");
  const tail = `${result.stderr}\n${existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "(no worker log)"}`;
  expect(result.exitCode, tail).toBe(0);
  const records = readFileSync(join(out, "journal.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
  return { out, stdout: result.stdout, records };
}

/** Every one of `names` in `metrics` is a finite fraction in [0, 1]. */
export function expectFractions(metrics: Record<string, number | null>, names: readonly string[]): void {
  for (const name of names) {
    const value = metrics[name];
    expect(Number.isFinite(value), `${name} = ${value}`).toBe(true);
    expect(value, name).toBeGreaterThanOrEqual(0);
    expect(value, name).toBeLessThanOrEqual(1);
  }
}
