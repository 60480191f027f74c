/** Runs a search against in-process fake workers (real ZeroMQ sockets, no processes). */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventStream, type TimedEvent } from "../../src/orchestrate/events.js";
import { type RunOptions, type RunOutcome, resumeRun, startRun } from "../../src/orchestrate/run.js";
import type { Experiment } from "../../src/schema/index.js";
import { FakeWorker, type FakeWorkerOptions } from "../helpers/fake-worker.js";

export type WorkerSpec = Partial<Omit<FakeWorkerOptions, "endpoint" | "runId" | "workerId">> & { id: string };

export interface FakeRun {
  outcome: RunOutcome | null;
  error: Error | null;
  events: TimedEvent[];
  workers: FakeWorker[];
  dir: string;
  logs: string[];
}

export const newRunDir = (): string => join(mkdtempSync(join(tmpdir(), "amlfs-run-")), "run");

export async function runFake(
  config: Experiment | null,
  specs: WorkerSpec[],
  options: { dir?: string; abortWhen?: (event: TimedEvent) => boolean; extra?: Partial<RunOptions> } = {},
): Promise<FakeRun> {
  const dir = options.dir ?? newRunDir();
  const events = new EventStream();
  const seen: TimedEvent[] = [];
  const logs: string[] = [];
  const abort = new AbortController();
  events.subscribe((event) => {
    seen.push(event);
    if (options.abortWhen?.(event) === true && !abort.signal.aborted) abort.abort("test");
  });
  const workers: FakeWorker[] = [];
  const { onEndpoint: alsoOnEndpoint, ...extra } = options.extra ?? {};
  const runOptions: RunOptions = {
    events,
    launcher: () => null,
    heartbeatIntervalMs: 100,
    stopGraceMs: 200,
    signal: abort.signal,
    log: (line) => logs.push(line),
    onEndpoint: (endpoint, runId) => {
      for (const { id, ...rest } of specs) workers.push(new FakeWorker({ ...rest, endpoint, runId, workerId: id, heartbeatMs: 100 }));
      alsoOnEndpoint?.(endpoint, runId);
    },
    ...extra,
  };
  let outcome: RunOutcome | null = null;
  let error: Error | null = null;
  try {
    outcome = config === null ? await resumeRun(dir, runOptions) : await startRun(config, dir, runOptions);
  } catch (caught) {
    error = caught as Error;
  }
  await Promise.all(workers.map((worker) => worker.close()));
  return { outcome, error, events: seen, workers, dir, logs };
}
