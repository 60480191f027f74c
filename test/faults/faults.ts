/**
 * What the fault-injection cases share (docs/faults.md): the bounded or long mode
 * (`AMLFS_FAULTS=long`), a seeded generator for where faults land, a controller in this
 * process driving fake worker *processes* (test/helpers/fake-worker-main.ts through the
 * real local launcher, so SIGKILL and SIGSTOP are real signals), and the two checks every
 * case ends with: the run equals an undisturbed one, and nothing partial is left in its
 * run directory.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { expect } from "vitest";
import { LocalLauncher } from "../../src/launch/local.js";
import { REPO_ROOT } from "../../src/launch/python.js";
import { EventStream, type TimedEvent } from "../../src/orchestrate/events.js";
import type { EpochRecord, JournalRecord } from "../../src/orchestrate/journal.js";
import { type RunOutcome, startRun } from "../../src/orchestrate/run.js";
import { safetensorsProblem } from "../../src/orchestrate/safetensors.js";
import { type Experiment, parseExperiment } from "../../src/schema/index.js";
import { checkFinishedRun } from "../helpers/check-journal.js";
import { scaled } from "../helpers/load.js";
import type { FakeWorkerOptions } from "../helpers/fake-worker.js";

/** `AMLFS_FAULTS=long`: more seeds and iterations (make faults-long). */
export const LONG = process.env.AMLFS_FAULTS === "long";

/** Seeds of the randomized cases: a few in CI, many on demand. */
export function seeds(short: number, long: number): number[] {
  return Array.from({ length: LONG ? long : short }, (_, i) => 1000 + i);
}

/** Timeout of one case, in ms: generous in long mode, and scaled by the machine's load (test/helpers/load.ts). */
export const caseTimeoutMs = (shortMs: number) => scaled(LONG ? shortMs * 20 : shortMs);

/** One line per case: what it did and what it checked. */
export function report(did: string, checked: string): void {
  console.log(`[faults] did: ${did} / checked: ${checked}`);
}

/** mulberry32: a small seeded generator of floats in [0, 1), for where a fault lands. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const newRunDir = (): string => join(mkdtempSync(join(tmpdir(), "amlfs-faults-")), "run");

export const FAKE_WORKER_COMMAND = [process.execPath, "--import", "tsx", join(REPO_ROOT, "test/helpers/fake-worker-main.ts")];

export function faultConfig(overrides: { seed?: number; B?: number; W?: number; epochs?: number; heartbeatTimeoutMs?: number } = {}): Experiment {
  return parseExperiment({
    name: "faults",
    seed: overrides.seed ?? 21,
    baseline: { name: "small-cnn" },
    dataset: { kind: "digits" },
    search: { B: overrides.B ?? 4, epochs: overrides.epochs ?? 3, M: 2 },
    workers: { count: overrides.W ?? 2, devices: "cpu", threadsPerWorker: 1, heartbeatTimeoutMs: overrides.heartbeatTimeoutMs ?? 3000 },
    reward: { metric: "top1" },
  });
}

export type Behaviour = Partial<FakeWorkerOptions> & { perWorker?: Record<string, Partial<FakeWorkerOptions>> };

export interface ProcessRun {
  outcome: RunOutcome | null;
  error: Error | null;
  events: TimedEvent[];
  logs: string[];
  dir: string;
  /** Worker id -> pid, from the `worker-up` events. */
  pids: Map<string, number>;
}

/**
 * A run with the controller in this process and fake worker processes started by the
 * local launcher (behaviour in $FAKE_WORKER); `onEvent` sees every event as it happens.
 */
export async function runWithProcesses(
  config: Experiment,
  behaviour: Behaviour,
  options: { dir?: string; onEvent?: (event: TimedEvent, run: ProcessRun) => void; heartbeatIntervalMs?: number } = {},
): Promise<ProcessRun> {
  const run: ProcessRun = { outcome: null, error: null, events: [], logs: [], dir: options.dir ?? newRunDir(), pids: new Map() };
  const events = new EventStream();
  events.subscribe((event) => {
    run.events.push(event);
    if (event.type === "worker-up") run.pids.set(event.workerId, event.pid);
    options.onEvent?.(event, run);
  });
  try {
    run.outcome = await startRun(config, run.dir, {
      events,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 200,
      stopGraceMs: 1000,
      log: (line) => run.logs.push(line),
      launcher: ({ runDir, log }) =>
        new LocalLauncher({
          count: config.workers.count,
          devices: "cpu",
          threadsPerWorker: 1,
          logsDir: runDir.logsDir,
          command: FAKE_WORKER_COMMAND,
          env: { ...process.env, FAKE_WORKER: JSON.stringify(behaviour) },
          log,
        }),
    });
  } catch (error) {
    run.error = error as Error;
  }
  return run;
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

function journal(dir: string): JournalRecord[] {
  return readFileSync(join(dir, "journal.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as JournalRecord);
}

/** What must not depend on faults: per epoch thetas, rewards, winner, mu, Adam, checkpoint; the final model and metrics. */
export function resultOf(dir: string): unknown {
  const records = journal(dir);
  const epochs = records
    .filter((r): r is EpochRecord => r.kind === "epoch")
    .map(({ epoch, thetas, rewards, best, bestReward, mu, adam, sha256: sha, checkpoint }) => ({ epoch, thetas, rewards, best, bestReward, mu, adam, sha, checkpoint }));
  const final = records.find((r) => r.kind === "final");
  return { init: records[0]?.kind === "init" ? records[0].sha256 : null, epochs, final: final?.kind === "final" ? { sha: final.sha256, metrics: final.metrics } : null };
}

/** The run finished, its journal recomputes independently, and it equals the reference run. */
export function expectSameResult(dir: string, referenceDir: string, where: string): void {
  checkFinishedRun(dir);
  expect(resultOf(dir), where).toEqual(resultOf(referenceDir));
  expect(sha256(readFileSync(join(dir, "final", "model.safetensors"))), where).toBe(
    sha256(readFileSync(join(referenceDir, "final", "model.safetensors"))),
  );
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/**
 * Nothing half-written: no temporary file of an atomic write or a transfer anywhere,
 * tmp/transfers empty, every checkpoint named as the journal names them and hashing to
 * the sha256 the journal gives for it (or, not journaled yet, a complete safetensors
 * file), every journal line complete JSON.
 */
export function expectNothingPartial(dir: string, where: string, options: { atomicLeftovers?: boolean } = {}): void {
  const files = walk(dir).map((path) => relative(dir, path));
  // `atomicLeftovers`: a disk that turned read-only between the write of an atomic write's
  // temporary file (`.<name>.<hex>.tmp`) and its rename leaves it behind: never read, removed
  // when the run directory is opened again (run-dir.ts), so allowed until then.
  const leftover = (file: string) => options.atomicLeftovers === true && /(^|\/)\.[^/]+\.[0-9a-f]{12}\.tmp$/.test(file);
  expect(files.filter((file) => /\.tmp$|\.part$/.test(file) && !leftover(file)), where).toEqual([]);
  const transfers = join(dir, "tmp", "transfers");
  if (existsSync(transfers)) expect(readdirSync(transfers), where).toEqual([]);
  const lines = readFileSync(join(dir, "journal.jsonl"), "utf8").split("\n");
  expect(lines.at(-1), `${where}: the journal ends with a newline`).toBe("");
  for (const line of lines.slice(0, -1)) expect(() => JSON.parse(line), `${where}: journal line ${line.slice(0, 80)}`).not.toThrow();
  const named = new Map<string, string>();
  for (const record of journal(dir)) if ("checkpoint" in record) named.set(record.checkpoint, record.sha256);
  for (const file of files.filter((f) => f.startsWith("checkpoints/"))) {
    expect(file, where).toMatch(/^checkpoints\/w_\d{4}\.safetensors$/);
    const bytes = readFileSync(join(dir, file));
    const sha = named.get(file);
    // Stored but not yet journaled (the run stopped in between): complete, and resume writes it again.
    if (sha === undefined) expect(safetensorsProblem(bytes), `${where}: ${file}`).toBeNull();
    else expect(sha256(bytes), `${where}: ${file}`).toBe(sha);
  }
}
