/**
 * Fault injection (docs/faults.md, case b): a worker process SIGSTOPped in the middle of a
 * task for longer than heartbeatTimeoutMs, then SIGCONTed. The controller must declare
 * it lost while it is stopped, run its task elsewhere, and ignore what it sends once it
 * runs again (its late result never reaches the journal); the run ends like an
 * undisturbed one.
 */
import { beforeAll, describe, expect, it } from "vitest";
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

const HEARTBEAT_TIMEOUT_MS = 800;
const config = faultConfig({ epochs: 2, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
const { B, epochs } = config.search;
// Tasks of 600 ms in two progress steps: the pause comes a seeded 0-100 ms after the first
// progress (so the worker is surely training, not downloading, with ~300 ms left); once
// resumed, the overdue timer fires at once and the result is queued. The paused worker's
// own watch of the controller is relaxed, and on the `shutdown` that answers its first
// late heartbeat it lets the queued result leave: the result surely reaches the controller late.
const BEHAVIOUR: Behaviour = { taskMs: 600, progressSteps: 2, controllerTimeoutMs: 30_000, flushOnShutdown: true };

let reference: ProcessRun;

beforeAll(async () => {
  reference = await runWithProcesses(config, BEHAVIOUR);
  expect(reference.error).toBeNull();
}, caseTimeoutMs(60_000));

describe("faults: a worker paused past the heartbeat timeout", () => {
  it.each(seeds(1, 5))("is declared lost, its late result ignored (seed %i)", async (seed) => {
    const random = rng(seed);
    const epoch = Math.floor(random() * epochs);
    const sample = Math.floor(random() * B);
    const pauseAfterMs = Math.floor(random() * 100);
    let paused: { workerId: string; pid: number; taskId: string } | null = null;
    let resumedAfterLost = false;
    const run = await runWithProcesses(config, BEHAVIOUR, {
      onEvent: (event, current) => {
        const training = event.type === "task-progress" && event.step === 1 && event.taskId.startsWith(`e${String(epoch).padStart(4, "0")}-s${String(sample).padStart(2, "0")}-`);
        if (paused === null && training) {
          const pid = current.pids.get(event.workerId) as number;
          paused = { workerId: event.workerId, pid, taskId: event.taskId };
          void sleep(pauseAfterMs).then(() => process.kill(pid, "SIGSTOP"));
        }
        if (paused !== null && event.type === "worker-lost" && event.workerId === paused.workerId) {
          const { pid } = paused;
          // Resume soon after the loss, within the launcher's grace before its SIGTERM.
          void sleep(100).then(() => {
            resumedAfterLost = true;
            process.kill(pid, "SIGCONT");
          });
        }
      },
    });
    const where = `seed ${seed}: SIGSTOP ${pauseAfterMs} ms after the first progress of e${epoch} s${sample}`;
    expect(paused, where).not.toBeNull();
    const { workerId, taskId } = paused as unknown as { workerId: string; taskId: string };
    expect(resumedAfterLost, where).toBe(true);
    const lost = run.events.find((e) => e.type === "worker-lost" && e.workerId === workerId);
    expect(lost, where).toMatchObject({ reason: expect.stringMatching(`silent for \\d+ ms \\(heartbeatTimeoutMs ${HEARTBEAT_TIMEOUT_MS}\\)`) });
    // Once resumed it spoke again: its result, or first a heartbeat or progress whose answer
    // told it to exit before the result was out (which comes first is the machine's timing).
    // The controller ignored what came and told it to exit.
    const log = run.logs.join("\n");
    expect(log, where).toMatch(new RegExp(`ignored (result|heartbeat|progress) ${workerId}-\\d+ from ${workerId}: the worker was declared lost`));
    // No result of the paused attempt was counted: no task-result event for it, and the journal names it only as a requeued failure.
    expect(run.events.filter((e) => e.type === "task-result" && e.taskId === taskId), where).toEqual([]);
    const records = readJournal(run.dir).filter((r): r is EpochRecord => r.kind === "epoch");
    expect(records.map((r) => r.winner.taskId), where).not.toContain(taskId);
    expect(records[epoch]?.failures, where).toContainEqual(expect.objectContaining({ taskId, workerId, requeued: true }));
    expect(run.error, where).toBeNull();
    expectSameResult(run.dir, reference.dir, where);
    expectNothingPartial(run.dir, where);
    report(
      `SIGSTOP ${workerId} ${pauseAfterMs} ms after the mid-task progress of ${taskId} (heartbeatTimeoutMs ${HEARTBEAT_TIMEOUT_MS}), SIGCONT 100 ms after it was declared lost (seed ${seed})`,
      "declared lost for silence; its late result logged as ignored, absent from events and journal (only a requeued failure); final sha256 and journal results equal the undisturbed run's",
    );
  }, caseTimeoutMs(60_000));
});
