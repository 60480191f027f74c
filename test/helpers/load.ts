/**
 * How much slower this machine is now than the idle 2-core machine the suite's time limits
 * were set on: a factor >= 1, measured once at suite start (test/helpers/load-setup.ts),
 * that scales the limits that must remain (a test's timeout, a wait for an orphan to exit).
 * Tests wait on events; a limit only bounds how long a hung product can keep them waiting,
 * so a scaled one still ends (the factor is capped at MAX_LOAD_FACTOR).
 *
 * Set AMLFS_TEST_LOAD_FACTOR to a number >= 1 to skip the measurement and use it.
 */
import { execFile } from "node:child_process";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { REPO_ROOT, pythonPath, resolvePython } from "../../src/launch/python.js";

export const LOAD_FACTOR_ENV = "AMLFS_TEST_LOAD_FACTOR";

/** A hung product still fails within this multiple of a limit. */
export const MAX_LOAD_FACTOR = 10;

/** The suite's limits on an idle machine (vitest.config.ts; scaled per test file by scale-timeouts.ts). */
export const IDLE_TEST_TIMEOUT_MS = 60_000;
export const IDLE_HOOK_TIMEOUT_MS = 10_000;

/**
 * The reference work on the idle machine (2 cores, load average < 1): the hash loop run on
 * every core at once, and a fresh Python's `import torch`, in ms (best of three).
 */
export const IDLE_REFERENCE_MS = { cpu: 430, torch: 1450 } as const;

/** Rounds of sha256 over 1 KiB in each thread: about 0.25 s on one idle core, 0.43 s on both. */
const HASH_ROUNDS = 200_000;

export interface LoadMeasure {
  factor: number;
  /** Each measurement over its idle reference; null when it could not be made (no Python). */
  cpu: number;
  torch: number | null;
  source: "measured" | "environment";
}

/** The factor in force: AMLFS_TEST_LOAD_FACTOR, set by the suite's global setup (1 outside it). */
export function loadFactor(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[LOAD_FACTOR_ENV];
  return text === undefined || text === "" ? 1 : parseLoadFactor(text);
}

/** `ms` scaled by the load factor (whole ms). */
export function scaled(ms: number): number {
  return Math.ceil(ms * loadFactor());
}

export function parseLoadFactor(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 1) throw new Error(`${LOAD_FACTOR_ENV}: expected a number >= 1, got ${JSON.stringify(text)}`);
  return Math.min(value, MAX_LOAD_FACTOR);
}

/** Times the reference work now and compares it with IDLE_REFERENCE_MS. */
export async function measureLoad(): Promise<LoadMeasure> {
  // CPU first, alone: the Python start-up would compete with it.
  const cpuMs = await best(3, () => hashOnEveryCore(HASH_ROUNDS));
  const torchMs = await best(2, importTorch).catch(() => null);
  const cpu = cpuMs / IDLE_REFERENCE_MS.cpu;
  const torch = torchMs === null ? null : torchMs / IDLE_REFERENCE_MS.torch;
  const factor = Math.min(MAX_LOAD_FACTOR, Math.max(1, cpu, torch ?? 1));
  return { factor: Math.round(factor * 100) / 100, cpu, torch, source: "measured" };
}

async function best(times: number, measure: () => Promise<number>): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < times; i++) least = Math.min(least, await measure());
  return least;
}

/** Wall time of HASH_ROUNDS chained sha256 rounds in one thread per core, all at once. */
async function hashOnEveryCore(rounds: number): Promise<number> {
  const started = performance.now();
  const source = `
    const { createHash } = require("node:crypto");
    const { workerData, parentPort } = require("node:worker_threads");
    let block = Buffer.alloc(1024);
    for (let i = 0; i < workerData; i++) block = createHash("sha256").update(block).digest();
    parentPort.postMessage(block.length);
  `;
  const threads = Array.from({ length: availableParallelism() }, () => new Promise<void>((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: rounds });
    worker.once("message", () => resolve());
    worker.once("error", reject);
  }));
  await Promise.all(threads);
  return performance.now() - started;
}

/** Wall time of `python -c "import torch"` in the Python the workers use. */
function importTorch(): Promise<number> {
  const started = performance.now();
  const env = { ...process.env, PYTHONPATH: pythonPath() ?? "" };
  return new Promise((resolve, reject) => {
    execFile(resolvePython(), ["-c", "import torch"], { cwd: REPO_ROOT, env, timeout: 120_000 }, (error) => {
      if (error !== null) reject(error);
      else resolve(performance.now() - started);
    });
  });
}
