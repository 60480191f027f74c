/**
 * Starting and resuming runs: the run directory and journal, the controller's socket, the
 * launcher, the controller, and the events around them. `startRun` and `resumeRun` differ
 * only in where the run directory comes from; both continue from `resumePoint`, so a
 * resumed run takes the path an uninterrupted one would have taken.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import type { Launcher } from "../launch/launcher.js";
import { ConfigError, type Experiment } from "../schema/index.js";
import { needsCurve, newKeyPair, writeWorkerKeysSync } from "../transport/curve.js";
import { RouterEndpoint } from "../transport/router.js";
import { Controller, DEFAULT_HEARTBEAT_INTERVAL_MS, type RunSummary } from "./controller.js";
import { RunError } from "./errors.js";
import type { EventStream } from "./events.js";
import { type FinalRecord, Journal } from "./journal.js";
import { checkStart } from "./repair.js";
import { resumePoint } from "./resume-point.js";
import { CONFIG_FILE, RunDir } from "./run-dir.js";

/** The smallest heartbeatTimeoutMs a `welcome` may carry (src/schema/wire/messages.ts). */
const MIN_HEARTBEAT_TIMEOUT_MS = 100;

export interface RunOptions {
  events: EventStream;
  /** Log lines of the controller (they also go to logs/controller.log in the run directory). */
  log?: (line: string) => void;
  /** Makes the launcher of the workers; null: the workers are started by someone else. */
  launcher: (context: { config: Experiment; runDir: RunDir; runId: string; log: (line: string) => void }) => Launcher | null;
  /** Aborting it interrupts the run, which stays resumable. */
  signal?: AbortSignal;
  heartbeatIntervalMs?: number;
  maxTaskAttempts?: number;
  keepCheckpoints?: number;
  stopGraceMs?: number;
  /** Where the controller binds (default tcp://127.0.0.1:*). */
  bindTo?: string;
  maxCheckpointBytes?: number;
  /** Called with the bound endpoint before any worker starts (tests connect their own). */
  onEndpoint?: (endpoint: string, runId: string) => void;
}

export type RunOutcome =
  | { status: "finished"; runDir: string; summary: RunSummary }
  | { status: "already-finished"; runDir: string; final: FinalRecord; summary: RunSummary };

/** A new run of `config` in `outDir` (refused when it already holds a run). */
export async function startRun(config: Experiment, outDir: string, options: RunOptions): Promise<RunOutcome> {
  const dir = await RunDir.create(outDir, config);
  return runIn(dir, config, false, options);
}

/** Continues the run in `runDirPath` from the end of its journal. */
export async function resumeRun(runDirPath: string, options: RunOptions): Promise<RunOutcome> {
  const { dir, config } = await RunDir.open(runDirPath);
  return runIn(dir, config, true, options);
}

/** Runs (the rest of) the run in `dir` from the end of its journal. */
export async function runIn(dir: RunDir, config: Experiment, resumed: boolean, options: RunOptions): Promise<RunOutcome> {
  const unlock = await dir.lock();
  try {
    return await runLocked(dir, config, resumed, options);
  } finally {
    await unlock();
  }
}

/** The heartbeat timeout must leave room for a few heartbeats (and fit the wire schema's minimum). */
export function checkHeartbeats(config: Experiment, intervalMs = DEFAULT_HEARTBEAT_INTERVAL_MS, source = "config"): void {
  const least = Math.max(MIN_HEARTBEAT_TIMEOUT_MS, 2 * intervalMs);
  const given = config.workers.heartbeatTimeoutMs;
  if (given < least) {
    const message = `expected at least ${least} (two heartbeat intervals of ${intervalMs} ms), got ${given}`;
    throw new ConfigError(source, [{ path: "workers.heartbeatTimeoutMs", message }]);
  }
}

async function runLocked(dir: RunDir, config: Experiment, resumed: boolean, options: RunOptions): Promise<RunOutcome> {
  checkHeartbeats(config, options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS, join(dir.path, CONFIG_FILE));
  const journal = await Journal.read(dir.journalPath);
  const point = resumePoint(config, journal.records, dir.journalPath);
  const startBytes = await checkStart(dir, point);
  const history = point.epochs.map(({ epoch, best, bestReward, rewards }) => ({ epoch, best, bestReward, rewards }));
  if (point.final !== null) {
    const summary = { epochs: history, mu: point.policy.mu, final: point.final };
    return { status: "already-finished", runDir: dir.path, final: point.final, summary };
  }
  const controllerLog = join(dir.logsDir, "controller.log");
  let logFileFailed = false;
  const log = (line: string): void => {
    try {
      appendFileSync(controllerLog, `${new Date().toISOString()} ${line}\n`);
    } catch (error) {
      // A full or read-only disk must not break the paths that report it; said once.
      if (!logFileFailed) line = `${line} [cannot write ${controllerLog}: ${(error as Error).message}]`;
      logFileFailed = true;
    }
    options.log?.(line);
    options.events.emit({ type: "log", message: line });
  };
  const runId = `${config.name}-${randomBytes(4).toString("hex")}`;
  // Beyond loopback, the socket is a CURVE server with a key pair of this run; each worker
  // gets its own pair in keys/<worker>.key (owner-only) and only those keys are allowed.
  const server = options.bindTo !== undefined && needsCurve(options.bindTo) ? newKeyPair() : null;
  const router = await RouterEndpoint.bind({
    runId,
    log,
    ...(options.bindTo === undefined ? {} : { bindTo: options.bindTo }),
    ...(options.maxCheckpointBytes === undefined ? {} : { maxCheckpointBytes: options.maxCheckpointBytes }),
    ...(server === null ? {} : { curve: { secretKey: server.secretKey, allowedClientKeys: [] } }),
  });
  const keysDir = join(dir.path, "keys");
  const curveKeysFor = server === null ? undefined : (workerId: string): string => {
    const { file, publicKey } = writeWorkerKeysSync(keysDir, workerId, server.publicKey);
    router.allowClient(publicKey);
    return file;
  };
  if (server !== null) log(`CURVE: encrypted socket at ${router.endpoint}; worker keys in ${keysDir} (owner-only)`);
  const launcher = options.launcher({ config, runDir: dir, runId, log });
  const controller = new Controller({
    config,
    runDir: dir,
    journal,
    point,
    ...(startBytes === null ? {} : { startBytes }),
    router,
    launcher,
    events: options.events,
    log,
    ...pick(options, ["heartbeatIntervalMs", "maxTaskAttempts", "keepCheckpoints", "stopGraceMs"]),
    ...(curveKeysFor === undefined ? {} : { curveKeysFor }),
  });
  const onAbort = () => controller.interrupt(String(options.signal?.reason ?? "aborted"));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted === true) onAbort();
  options.events.emit({
    type: "run-start",
    runDir: dir.path,
    runId,
    name: config.name,
    epochs: config.search.epochs,
    B: config.search.B,
    W: config.workers.count,
    nextEpoch: point.nextEpoch,
    resumed,
    endpoint: router.endpoint,
  });
  options.onEndpoint?.(router.endpoint, runId);
  try {
    const summary = await controller.run();
    options.events.emit({ type: "run-end", status: "finished", runDir: dir.path, message: null, resumable: false });
    return { status: "finished", runDir: dir.path, summary };
  } catch (error) {
    const interrupted = options.signal?.aborted === true;
    const resumable = !(error instanceof RunError) || error.resumable;
    const message = (error as Error).message;
    options.events.emit({ type: "run-end", status: interrupted ? "interrupted" : "failed", runDir: dir.path, message, resumable });
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await router.close();
  }
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
