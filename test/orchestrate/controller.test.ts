/**
 * The epoch loop against fake workers in this process (real ZeroMQ sockets): the journal
 * of a finished run is recomputed independently, the final model is the chain of winners
 * trained by the fake's own rule, and the failure paths (failed and NaN samples, a lost
 * worker, a lost winner, a hung worker, an epoch where nothing finished, intruders on
 * the socket) end as docs/protocol.md says. Resume continues bit-identically.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { RunError } from "../../src/orchestrate/errors.js";
import type { TimedEvent } from "../../src/orchestrate/events.js";
import type { EpochRecord } from "../../src/orchestrate/journal.js";
import { encodeSafetensors } from "../../src/orchestrate/safetensors.js";
import { taskSeed } from "../../src/orchestrate/task-ids.js";
import type { MessageOf } from "../../src/schema/wire/messages.js";
import { checkFinishedRun, readJournal } from "../helpers/check-journal.js";
import { fakeInitialState, fakeLossStats, fakeReward, fakeTrain } from "../helpers/fake-worker.js";
import { tinyConfig } from "./config.js";
import { newRunDir, runFake } from "./run-fake.js";

const twoWorkers = [{ id: "w0" }, { id: "w1" }];

function finalBytes(dir: string): Buffer {
  return readFileSync(join(dir, "final", "model.safetensors"));
}

describe("Controller with fake workers", () => {
  it("runs a search whose journal recomputes independently", async () => {
    const config = tinyConfig({ epochs: 3 });
    const run = await runFake(config, twoWorkers);
    expect(run.error).toBeNull();
    expect(run.outcome?.status).toBe("finished");
    const { epochs, final } = checkFinishedRun(run.dir);

    // Rewards are the fake's function of (theta, seed); the final state is the chain of winners.
    let state = fakeInitialState(config.seed, 64);
    for (const record of epochs) {
      record.thetas.forEach((theta, k) => expect(record.rewards[k]).toBe(fakeReward(theta, record.seed)));
      state = fakeTrain(state, record.thetas[record.best] as number[], record.seed);
    }
    expect(finalBytes(run.dir).equals(encodeSafetensors({ w: state }, { epoch: String(config.search.epochs) }))).toBe(true);
    expect(final.metrics.top1).toBe(fakeReward(epochs.at(-1)?.thetas[epochs.at(-1)?.best as number] as number[], taskSeed(config.seed, 3)));

    // Every task of an epoch got the epoch's seed; nobody holds a result after the run.
    const tasks = run.workers.flatMap((w) => w.received.filter((m): m is MessageOf<"task"> => m.type === "task"));
    expect(tasks).toHaveLength(3 * 3 + 1);
    for (const task of tasks) expect(task.seed).toBe(taskSeed(config.seed, task.epoch));
    expect(tasks.filter((t) => t.kind === "evaluate").map((t) => [t.taskId, t.split])).toEqual([["final-test-a0", "test"]]);
    for (const worker of run.workers) expect(worker.heldResults).toEqual([]);
    // Retention: the last 3 checkpoints (w_0001..w_0003) remain.
    expect(run.events.filter((e) => e.type === "epoch-end")).toHaveLength(3);
  });

  it("answers every result with keep, releases beaten results, and only the winner uploads", async () => {
    const run = await runFake(tinyConfig({ epochs: 1, B: 4 }), twoWorkers);
    expect(run.error).toBeNull();
    const [record] = readJournal(run.dir).filter((r): r is EpochRecord => r.kind === "epoch");
    const keeps = run.workers.flatMap((w) => w.received.filter((m): m is MessageOf<"keep"> => m.type === "keep"));
    const results = run.events.filter((e) => e.type === "task-result" && e.kind === "train");
    expect(keeps.filter((k) => k.replyTo !== undefined)).toHaveLength(results.length + 1); // + the final evaluation
    const kept = new Set(keeps.filter((k) => k.keep).map((k) => k.taskId));
    const released = new Set(keeps.filter((k) => !k.keep).map((k) => k.taskId));
    const winner = record?.winner.taskId as string;
    expect(kept.has(winner)).toBe(true);
    expect(released.has(winner)).toBe(false);
    for (const id of kept) if (id !== winner) expect(released.has(id), id).toBe(true);
    const uploads = run.workers.flatMap((w) => w.received.filter((m) => m.type === "checkpointRequest"));
    expect(uploads).toEqual([expect.objectContaining({ taskId: winner })]);
  });

  it("records failed and NaN samples with reasons and never picks them", async () => {
    const config = tinyConfig({ epochs: 2, B: 4 });
    const specs = twoWorkers.map((w) => ({ ...w, failSamples: [1], nanSamples: [3] }));
    const run = await runFake(config, specs);
    expect(run.error).toBeNull();
    const { epochs } = checkFinishedRun(run.dir);
    for (const record of epochs) {
      expect(record.rewards[1]).toBeNull();
      expect(record.rewards[3]).toBeNull();
      expect(record.failures.map((f) => [f.sample, f.reason, f.requeued])).toEqual(
        expect.arrayContaining([
          [1, "loss is NaN at step 1", false],
          [3, "the reward is null (NaN on the worker)", false],
        ]),
      );
      expect([0, 2]).toContain(record.best);
      // What each finished sample's worker counted, for the loss it trained; nothing for the failed ones.
      const lossThetas = record.lossThetas as number[][];
      expect(record.lossStats).toEqual(record.rewards.map((reward, k) => (reward === null ? null : fakeLossStats(lossThetas[k] as number[]))));
    }
    // The task-result events carry them too (--json shows them); the final evaluation measured nothing.
    const results = run.events.filter((e): e is Extract<TimedEvent, { type: "task-result" }> => e.type === "task-result");
    expect(results).toHaveLength(2 * 4 + 1);
    for (const event of results) {
      const expected = event.kind === "evaluate" ? null : epochs[event.epoch]?.lossStats?.[event.sample];
      expect(expected, event.taskId).not.toBeUndefined();
      expect(event.lossStats, event.taskId).toEqual(expected);
    }
  });

  it("stops with a resumable error when no sample of an epoch finished, and resumes", async () => {
    const dir = newRunDir();
    const config = tinyConfig({ epochs: 2, B: 2 });
    const failing = twoWorkers.map((w) => ({ ...w, failSamples: [0, 1] }));
    const first = await runFake(config, failing, { dir });
    expect(first.error).toBeInstanceOf(RunError);
    expect(first.error?.message).toMatch(/epoch 0: no sample finished.*loss is NaN at step 1/);
    expect((first.error as RunError).resumable).toBe(true);
    expect(readJournal(dir).map((r) => r.kind)).toEqual(["init"]);
    expect(first.events.at(-1)).toMatchObject({ type: "run-end", status: "failed", resumable: true });
    const second = await runFake(null, twoWorkers, { dir });
    expect(second.error).toBeNull();
    checkFinishedRun(dir);
  });

  it("requeues the task of a worker that dies mid-task and records the loss", async () => {
    const config = tinyConfig({ epochs: 2, heartbeatTimeoutMs: 600 });
    const run = await runFake(config, [{ id: "w0", crashOnTask: 2, taskMs: 50 }, { id: "w1", taskMs: 50 }]);
    expect(run.error).toBeNull();
    const { epochs } = checkFinishedRun(run.dir);
    const failures = epochs.flatMap((record) => record.failures);
    expect(failures).toEqual([expect.objectContaining({ workerId: "w0", requeued: true })]);
    expect(failures[0]?.reason).toMatch(/worker w0 lost: silent for \d+ ms/);
    expect(run.events.some((e) => e.type === "worker-lost" && e.workerId === "w0")).toBe(true);
    // The retry ran under the next attempt id, and every sample finished.
    const retried = failures[0]?.taskId.replace(/-a0$/, "-a1");
    expect(run.events.some((e) => e.type === "task-result" && e.taskId === retried && e.ok)).toBe(true);
    for (const record of epochs) expect(record.rewards.every((r) => r !== null)).toBe(true);
  });

  it("declares a hung worker lost after heartbeatTimeoutMs and finishes on the others", async () => {
    const config = tinyConfig({ epochs: 1, heartbeatTimeoutMs: 500 });
    const run = await runFake(config, [{ id: "w0", hangOnTask: 1 }, { id: "w1" }]);
    expect(run.error).toBeNull();
    const { epochs } = checkFinishedRun(run.dir);
    expect(epochs.flatMap((record) => record.failures)).toEqual([expect.objectContaining({ workerId: "w0", requeued: true })]);
    // A message from a worker declared lost is answered with shutdown.
    expect(run.logs.some((line) => /worker w0 lost: silent/.test(line))).toBe(true);
  });

  it("trains the winner again on another worker when its holder dies before uploading", async () => {
    const config = tinyConfig({ epochs: 2, heartbeatTimeoutMs: 500 });
    const reference = await runFake(config, twoWorkers);
    // Which worker ends up holding a winner depends on scheduling: run again (rarely needed)
    // until w0 held one, so the path under test is taken.
    const retrained = (logs: string[]) => logs.some((line) => /holder of the winner .* is gone; training it again/.test(line));
    let run = await runFake(config, [{ id: "w0", dieBeforeUpload: true }, { id: "w1" }, { id: "w2" }]);
    for (let attempt = 0; attempt < 4 && run.error === null && !retrained(run.logs); attempt++) {
      run = await runFake(config, [{ id: "w0", dieBeforeUpload: true }, { id: "w1" }, { id: "w2" }]);
    }
    expect(run.error).toBeNull();
    const { epochs } = checkFinishedRun(run.dir);
    expect(retrained(run.logs)).toBe(true);
    // Same theta, seed and start: the same state as the run where nobody died.
    expect(finalBytes(run.dir).equals(finalBytes(reference.dir))).toBe(true);
    expect(epochs.map((r) => r.mu)).toEqual(checkFinishedRun(reference.dir).epochs.map((r) => r.mu));
  });

  it("resumes an interrupted run to the same final mu and checkpoint as an uninterrupted one", async () => {
    const config = tinyConfig({ epochs: 3 });
    const reference = await runFake(config, twoWorkers);
    const referenceRun = checkFinishedRun(reference.dir);
    const stops: ((event: TimedEvent) => boolean)[] = [
      (e) => e.type === "checkpoint-stored" && e.epoch === null,
      (e) => e.type === "task-result" && e.epoch === 1,
      (e) => e.type === "epoch-end" && e.epoch === 2,
    ];
    for (const stop of stops) {
      const dir = newRunDir();
      const first = await runFake(config, twoWorkers, { dir, abortWhen: stop });
      expect(first.error).toBeInstanceOf(RunError);
      expect(first.events.at(-1)).toMatchObject({ type: "run-end", status: "interrupted", resumable: true });
      const second = await runFake(null, twoWorkers, { dir });
      expect(second.error).toBeNull();
      const resumed = checkFinishedRun(dir);
      expect(resumed.epochs.at(-1)?.mu).toEqual(referenceRun.epochs.at(-1)?.mu);
      expect(resumed.final.sha256).toBe(referenceRun.final.sha256);
      expect(resumed.epochs.map((r) => r.rewards)).toEqual(referenceRun.epochs.map((r) => r.rewards));
    }
  });

  it("reports a finished run as finished and starts no worker", async () => {
    const run = await runFake(tinyConfig({ epochs: 1 }), twoWorkers);
    const again = await runFake(null, [], { dir: run.dir });
    expect(again.outcome?.status).toBe("already-finished");
    expect(again.events).toEqual([]);
  });

  it("runs the baseline mode: one task per epoch with theta = mu_0, mu never moves", async () => {
    const run = await runFake(tinyConfig({ mode: "baseline", W: 1, epochs: 2 }), [{ id: "w0" }]);
    expect(run.error).toBeNull();
    const { epochs } = checkFinishedRun(run.dir);
    for (const record of epochs) {
      expect(record.thetas).toEqual([[1, 1, 0, 0, 1, 1, 0, 0]]);
      expect(record.mu).toEqual(record.muBefore);
    }
  });

  it("keeps running while intruders send garbage, other versions and premature messages", async () => {
    const config = tinyConfig({ epochs: 2 });
    let intruder: zmq.Dealer | null = null;
    const replies: string[] = [];
    const dir = newRunDir();
    const withIntruder = await runFake(config, twoWorkers, {
      dir,
      abortWhen: (event) => {
        if (event.type === "run-start") {
          intruder = new zmq.Dealer({ routingId: "w9", linger: 0 });
          intruder.connect(event.endpoint);
          const spam = async (socket: zmq.Dealer) => {
            await socket.send([Buffer.from([0, 1, 2, 255])]);
            await socket.send([Buffer.from(JSON.stringify({ protocol: 9, type: "heartbeat", msgId: "x", runId: event.runId, sender: "w9" }))]);
            await socket.send([Buffer.from(JSON.stringify({ protocol: 1, type: "result", msgId: "w9-1", runId: event.runId, sender: "w9", taskId: "e0000-s00-a0", ok: true, reward: 99, trainLoss: null, metrics: {}, timingsMs: {} }))]);
            for (;;) {
              const [frame] = await socket.receive();
              replies.push(String(frame));
            }
          };
          spam(intruder).catch(() => {});
        }
        return false;
      },
    });
    (intruder as zmq.Dealer | null)?.close();
    expect(withIntruder.error).toBeNull();
    checkFinishedRun(dir);
    const reasons = replies.map((text) => (JSON.parse(text) as { type: string; reason?: string }));
    expect(reasons.filter((r) => r.type === "reject").map((r) => r.reason)).toEqual([
      expect.stringMatching(/^header: /),
      expect.stringMatching(/^protocol: expected version 1, got 9/),
      expect.stringMatching(/a result before hello/),
    ]);
    // The intruder's reward of 99 never entered the journal.
    expect(readJournal(dir).some((r) => r.kind === "epoch" && r.rewards.includes(99))).toBe(false);
  });
});
