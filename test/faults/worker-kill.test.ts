/**
 * Fault injection (docs/faults.md, case a): a worker process SIGKILLed at a seeded random
 * moment during training, during its upload of the epoch's winner, or during its
 * download of w_t. Each run must end like the undisturbed one (same journal results,
 * same final checkpoint: the fake workers are deterministic) with nothing partial left in
 * the run directory.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { TimedEvent } from "../../src/orchestrate/events.js";
import type { EpochRecord } from "../../src/orchestrate/journal.js";
import { readJournal } from "../helpers/check-journal.js";
import {
  type Behaviour,
  type ProcessRun,
  caseTimeoutMs,
  expectNothingPartial,
  expectSameResult,
  faultConfig,
  report,
  rng,
  runWithProcesses,
  seeds,
  sleep,
} from "./faults.js";

const config = faultConfig({ epochs: 2 });
const { B, epochs } = config.search;
// Uploads of 9 chunks 60 ms apart, downloads whose every credit waits 500 ms, tasks of
// 400 ms in two progress steps; kills land well inside them (room for a loaded machine's timer lag).
const SLOW: Behaviour = { taskMs: 400, stateSize: 4096, chunkBytes: 4096, chunkDelayMs: 60, creditDelayMs: 500 };
const UPLOAD_MS = 9 * 60;

let reference: ProcessRun;

beforeAll(async () => {
  reference = await runWithProcesses(config, SLOW);
  expect(reference.error).toBeNull();
  expectNothingPartial(reference.dir, "reference run");
}, caseTimeoutMs(60_000));

/** Kills `workerId`'s process (SIGKILL) after `delayMs`; resolves to the time it did. */
function killLater(run: ProcessRun, workerId: string, delayMs: number, killed: { workerId: string | null }): void {
  void sleep(delayMs).then(() => {
    const pid = run.pids.get(workerId);
    if (pid === undefined || killed.workerId !== null) return;
    killed.workerId = workerId;
    process.kill(pid, "SIGKILL");
  });
}

function lostBySigkill(run: ProcessRun, workerId: string): boolean {
  return run.events.some((e) => e.type === "worker-lost" && e.workerId === workerId && /killed by SIGKILL/.test(e.reason));
}

function expectUndisturbedResult(run: ProcessRun, where: string): void {
  expect(run.error, where).toBeNull();
  expectSameResult(run.dir, reference.dir, where);
  expectNothingPartial(run.dir, where);
}

describe("faults: a worker SIGKILLed", () => {
  it.each(seeds(1, 6))("during training (seed %i)", async (seed) => {
    const random = rng(seed);
    const epoch = Math.floor(random() * epochs);
    const sample = Math.floor(random() * B);
    const delayMs = Math.floor(random() * 120);
    const killed = { workerId: null as string | null };
    let taskId = "";
    const run = await runWithProcesses(config, SLOW, {
      onEvent: (event, current) => {
        // After the task's mid-way progress: surely training (not still downloading its start state), ~200 ms left.
        const id = `e${String(epoch).padStart(4, "0")}-s${String(sample).padStart(2, "0")}-a0`;
        if (event.type === "task-progress" && event.step === 1 && event.taskId === id && taskId === "") {
          taskId = event.taskId;
          killLater(current, event.workerId, delayMs, killed);
        }
      },
    });
    const where = `seed ${seed}: kill ${delayMs} ms after the mid-task progress of ${taskId}`;
    expect(killed.workerId, where).not.toBeNull();
    expect(lostBySigkill(run, killed.workerId as string), where).toBe(true);
    const record = readJournal(run.dir).find((r): r is EpochRecord => r.kind === "epoch" && r.epoch === epoch);
    expect(record?.failures, where).toContainEqual(expect.objectContaining({ taskId, workerId: killed.workerId, requeued: true }));
    expectUndisturbedResult(run, where);
    report(
      `SIGKILL ${killed.workerId} ${delayMs} ms after the mid-task progress of training task ${taskId} (seed ${seed})`,
      "worker declared lost (killed by SIGKILL), task requeued and journaled as a failure; final sha256 and journal results equal the undisturbed run's; no .tmp/.part file, tmp/transfers empty, checkpoints verified",
    );
  }, caseTimeoutMs(60_000));

  it.each(seeds(1, 6))("during its upload of the winner (seed %i)", async (seed) => {
    const random = rng(seed);
    const epoch = Math.floor(random() * epochs);
    const delayMs = 10 + Math.floor(random() * (UPLOAD_MS / 2));
    const killed = { workerId: null as string | null };
    let holder: string | null = null;
    let results = 0;
    const run = await runWithProcesses(config, SLOW, {
      onEvent: (event: TimedEvent, current) => {
        if (event.type !== "task-result" || event.kind !== "train" || event.epoch !== epoch || !event.ok) return;
        // The latest result answered keep:true is the epoch's best so far; after the B-th, its holder uploads it.
        if (event.keep) holder = event.workerId;
        results += 1;
        if (results === B && holder !== null) killLater(current, holder, delayMs, killed);
      },
    });
    const where = `seed ${seed}: kill of the winner's holder ${delayMs} ms into the upload of epoch ${epoch}`;
    expect(killed.workerId, where).not.toBeNull();
    expect(lostBySigkill(run, killed.workerId as string), where).toBe(true);
    // The upload was cut short: the controller trained the winner again elsewhere.
    expect(run.logs.join("\n"), where).toMatch(new RegExp(`epoch ${epoch}: the holder of the winner \\(sample \\d\\) is gone; training it again`));
    expectUndisturbedResult(run, where);
    report(
      `SIGKILL the winner's holder ${killed.workerId} ${delayMs} ms into its ${UPLOAD_MS} ms upload, epoch ${epoch} (seed ${seed})`,
      "upload abandoned, winner trained again on another worker; final sha256 and journal results equal the undisturbed run's; no partial upload in tmp/transfers or checkpoints/",
    );
  }, caseTimeoutMs(60_000));

  it.each(seeds(1, 6))("during its download of w_t (seed %i)", async (seed) => {
    const random = rng(seed);
    const epoch = 1 + Math.floor(random() * (epochs - 1));
    const delayMs = 40 + Math.floor(random() * 260);
    const killed = { workerId: null as string | null };
    const starts = new Set<string>();
    const run = await runWithProcesses(config, SLOW, {
      onEvent: (event, current) => {
        if (event.type !== "task-start" || event.epoch !== epoch) return;
        // A worker's first task of the epoch, on a worker that did not upload the last winner: it downloads w_t.
        const first = !starts.has(event.workerId);
        starts.add(event.workerId);
        const winnerWorker = readWinnerWorker(current, epoch - 1);
        if (first && event.workerId !== winnerWorker) killLater(current, event.workerId, delayMs, killed);
      },
    });
    const where = `seed ${seed}: kill ${delayMs} ms into a download of w_${epoch}`;
    expect(killed.workerId, where).not.toBeNull();
    expect(lostBySigkill(run, killed.workerId as string), where).toBe(true);
    // The controller's send of w_t to it was open when it died.
    expect(run.logs.join("\n"), where).toMatch(new RegExp(`transfer controller-t\\d+ with ${killed.workerId} abandoned: worker ${killed.workerId} lost`));
    expectUndisturbedResult(run, where);
    report(
      `SIGKILL ${killed.workerId} ${delayMs} ms into its download of w_${epoch} (credits 500 ms apart; seed ${seed})`,
      "the controller abandoned its send (logged), task requeued; final sha256 and journal results equal the undisturbed run's; no partial file",
    );
  }, caseTimeoutMs(60_000));
});

/** The worker whose upload became w_{epoch+1}: the holder of the last keep:true result of `epoch`. */
function readWinnerWorker(run: ProcessRun, epoch: number): string | null {
  let holder: string | null = null;
  for (const event of run.events) {
    if (event.type === "task-result" && event.kind === "train" && event.epoch === epoch && event.ok && event.keep) holder = event.workerId;
  }
  return holder;
}
