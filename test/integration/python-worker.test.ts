/**
 * The controller with the real Python worker (`python -m amlfs.worker`) on the digits
 * demo config made tiny (B = 3, W = 2, 2 epochs), on CPU, real processes and sockets:
 *
 * - a search completes while intruders send garbage and wrong-version headers to the
 *   controller's socket, and its journal recomputes independently;
 * - a worker SIGKILLed mid-epoch: the loss is recorded, a replacement is started, the task
 *   runs again (on whichever worker is free first), and the run ends where the undisturbed
 *   one did;
 * - the controller SIGKILLed mid-run, then `amlfs resume`: same final mu and final
 *   checkpoint sha256 as the uninterrupted run; the orphaned workers exit by themselves;
 * - the misbehaving fixture workers (crash_mid_task.py, hang.py, garbage.py).
 */
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ResultPromise, execa } from "execa";
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { LocalLauncher } from "../../src/launch/local.js";
import { REPO_ROOT } from "../../src/launch/python.js";
import { EventStream, type TimedEvent } from "../../src/orchestrate/events.js";
import { RunDir } from "../../src/orchestrate/run-dir.js";
import { runIn } from "../../src/orchestrate/run.js";
import { parseExperiment } from "../../src/schema/index.js";
import { type CheckedRun, checkFinishedRun } from "../helpers/check-journal.js";
import { followJsonLines } from "../helpers/json-lines.js";
import { waitFor } from "../transport/wait.js";
import { FIXTURES, PYTHON, SKIP_REASON, tinyDemoConfig } from "./python-env.js";

const BIN = join(REPO_ROOT, "bin", "amlfs.mjs");
const outDir = () => join(mkdtempSync(join(tmpdir(), "amlfs-int-run-")), "run");
const CONFIG = tinyDemoConfig();

function amlfs(args: string[]): ResultPromise<{ reject: false; cwd: string; env: Record<string, string>; extendEnv: true }> {
  return execa(process.execPath, [BIN, ...args], { reject: false, cwd: REPO_ROOT, env: { AMLFS_WORKER_COMMAND: "" }, extendEnv: true });
}

/** Calls `onEvent` with each --json event of a running `amlfs` as it arrives. */
function follow(child: ReturnType<typeof amlfs>, onEvent: (event: Record<string, unknown>) => void): void {
  followJsonLines(child.stdout, onEvent);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A run through the API, with slot 0's first process replaced by a fixture worker. */
async function runWithFixture(fixture: string[], heartbeatTimeoutMs = 4000): Promise<{ dir: string; events: TimedEvent[]; error: Error | null }> {
  const config = parseExperiment(JSON.parse(readFileSync(tinyDemoConfig({ heartbeatTimeoutMs }), "utf8")));
  const dir = await RunDir.create(outDir(), config);
  const events = new EventStream();
  const seen: TimedEvent[] = [];
  events.subscribe((event) => seen.push(event));
  let error: Error | null = null;
  try {
    await runIn(dir, config, false, {
      events,
      launcher: ({ runDir, log }) =>
        new LocalLauncher({
          count: config.workers.count,
          devices: config.workers.devices,
          threadsPerWorker: config.workers.threadsPerWorker,
          logsDir: runDir.logsDir,
          log,
          command: ({ slot, restart }) =>
            slot === 0 && restart === 0 ? [PYTHON, join(FIXTURES, fixture[0] as string), ...fixture.slice(1)] : [PYTHON, "-m", "amlfs.worker"],
        }),
    });
  } catch (caught) {
    error = caught as Error;
  }
  return { dir: dir.path, events: seen, error };
}

describe.skipIf(SKIP_REASON !== null)(`the real Python worker${SKIP_REASON === null ? "" : ` (skipped: ${SKIP_REASON})`}`, () => {
  let reference: CheckedRun | null = null;

  it("completes a search while intruders send garbage to the controller, with a consistent journal", async () => {
    const out = outDir();
    const child = amlfs(["search", CONFIG, "--out", out, "--json"]);
    const replies: { type: string; reason: string }[] = [];
    let intruder: zmq.Dealer | null = null;
    const results: Record<string, unknown>[] = [];
    follow(child, (event) => {
      if (event.type === "task-result") results.push(event);
      if (event.type !== "run-start") return;
      const socket = new zmq.Dealer({ routingId: "intruder", linger: 0 });
      intruder = socket;
      socket.connect(event.endpoint as string);
      const base = { msgId: "intruder-1", runId: event.runId as string, sender: "intruder", type: "heartbeat" };
      void (async () => {
        await socket.send([Buffer.from([0xde, 0xad, 0xbe, 0xef])]);
        await socket.send([Buffer.from(JSON.stringify({ ...base, protocol: 2 }))]);
        await socket.send([Buffer.from(JSON.stringify({ ...base, protocol: 1, runId: "another-run" }))]);
        await socket.send([Buffer.from(JSON.stringify({ ...base, protocol: 1 }))]);
        for (;;) replies.push(JSON.parse(String((await socket.receive())[0])) as { type: string; reason: string });
      })().catch(() => {});
    });
    const result = await child;
    (intruder as zmq.Dealer | null)?.close();
    expect(result.exitCode, result.stderr).toBe(0);
    expect(replies.map((reply) => reply.reason)).toEqual([
      expect.stringMatching(/^header: expected UTF-8 text/),
      expect.stringMatching(/^protocol: expected version 1, got 2/),
      expect.stringMatching(/^runId: expected this run's/),
      expect.stringMatching(/a heartbeat before hello/),
    ]);
    expect(readFileSync(join(out, "logs", "controller.log"), "utf8")).toMatch(/rejected message intruder-1 from intruder: protocol/);
    reference = checkFinishedRun(out);
    expect(reference.final.metrics.top1).toBeGreaterThan(0);
    expect(reference.epochs.every((record) => record.failures.length === 0)).toBe(true);
    // Each sample's worker counted the examples its loss trained on (all samples of an epoch see
    // the same data: the same count); the journal and the --json task-result events agree.
    for (const record of reference.epochs) {
      const stats = record.lossStats ?? [];
      expect(stats).toHaveLength(record.thetas.length);
      stats.forEach((one, sample) => {
        const where = `epoch ${record.epoch} sample ${sample}`;
        expect(one?.examples, where).toBeGreaterThan(0);
        expect(one?.examples, where).toBe(stats[0]?.examples);
        const event = results.find((e) => e.kind === "train" && e.epoch === record.epoch && e.sample === sample && e.ok === true);
        expect(event?.lossStats, where).toEqual(one);
      });
    }
  });

  it("records a worker SIGKILLed mid-epoch, starts a replacement, reruns its task and ends as the undisturbed run", async () => {
    const out = outDir();
    const child = amlfs(["search", CONFIG, "--out", out, "--json"]);
    const pids = new Map<string, number>();
    const events: Record<string, unknown>[] = [];
    let victim: string | null = null;
    follow(child, (event) => {
      events.push(event);
      if (event.type === "worker-up") pids.set(event.workerId as string, event.pid as number);
      if (victim === null && event.type === "task-progress" && (event.taskId as string).startsWith("e0000-")) {
        victim = event.workerId as string;
        process.kill(pids.get(victim) as number, "SIGKILL");
      }
    });
    const result = await child;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(events).toContainEqual(expect.objectContaining({ type: "worker-lost", workerId: victim, reason: expect.stringMatching(/killed by SIGKILL/) }));
    // The replacement is started at once; whether it connects before the surviving worker has
    // finished this tiny run (about 3 s) depends on how fast torch imports, so only its start is checked.
    expect(readFileSync(join(out, "logs", "controller.log"), "utf8")).toMatch(new RegExp(`started worker ${victim}-r1 `));
    const run = checkFinishedRun(out);
    expect(run.epochs[0]?.failures).toEqual([expect.objectContaining({ workerId: victim, requeued: true })]);
    // Same theta, seed and start state on a fresh worker: the same result on CPU.
    expect(run.epochs.map((record) => record.rewards)).toEqual(reference?.epochs.map((record) => record.rewards));
    expect(run.final.sha256).toBe(reference?.final.sha256);
  });

  it("resumes a controller SIGKILLed mid-run to the same final mu and checkpoint; its workers exit by themselves", async () => {
    const out = outDir();
    const child = amlfs(["search", CONFIG, "--out", out, "--json"]);
    const pids: number[] = [];
    let killed = false;
    follow(child, (event) => {
      if (event.type === "worker-up") pids.push(event.pid as number);
      if (!killed && event.type === "task-result" && event.epoch === 1) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    const first = await child;
    expect(first.signal).toBe("SIGKILL");
    const resumed = amlfs(["resume", out, "--json"]);
    const resumedResult = await resumed;
    expect(resumedResult.exitCode, resumedResult.stderr).toBe(0);
    const run = checkFinishedRun(out);
    expect(run.epochs.at(-1)?.mu).toEqual(reference?.epochs.at(-1)?.mu);
    expect(run.final.sha256).toBe(reference?.final.sha256);
    expect(run.final.metrics).toEqual(reference?.final.metrics);
    // The workers of the killed controller noticed its silence (heartbeatTimeoutMs 4000) and exited.
    for (const pid of pids) await waitFor(() => !alive(pid), 20_000, `orphaned worker ${pid} to exit`);
  });

  it("crash_mid_task.py: the worker dies in its first task; the task runs again and the run ends as usual", async () => {
    const run = await runWithFixture(["crash_mid_task.py"]);
    expect(run.error).toBeNull();
    const lost = run.events.find((event) => event.type === "worker-lost" && event.workerId === "w0");
    expect(lost).toMatchObject({ reason: expect.stringMatching(/exited with code 1; last stderr: .*crash_mid_task: dying in task e0000-s\d\d-a0/) });
    const checked = checkFinishedRun(run.dir);
    // w0 dies in its first task, in whichever epoch that is (it may say hello after w1).
    expect(checked.epochs.flatMap((record) => record.failures)).toEqual([expect.objectContaining({ workerId: "w0", requeued: true })]);
    expect(checked.final.sha256).toBe(reference?.final.sha256);
  });

  it("hang.py: a worker silent after hello is declared lost after heartbeatTimeoutMs, stopped and replaced", async () => {
    const run = await runWithFixture(["hang.py"], 3000);
    expect(run.error).toBeNull();
    expect(run.events).toContainEqual(expect.objectContaining({ type: "worker-lost", workerId: "w0", reason: expect.stringMatching(/silent for \d+ ms \(heartbeatTimeoutMs 3000\)/) }));
    expect(readFileSync(join(run.dir, "logs", "controller.log"), "utf8")).toMatch(/started worker w0-r1 /);
    const hung = run.events.find((event) => event.type === "worker-up" && event.workerId === "w0");
    expect(hung?.type === "worker-up" && !alive(hung.pid)).toBe(true);
    expect(checkFinishedRun(run.dir).final.sha256).toBe(reference?.final.sha256);
  });

  it("garbage.py: every bad frame is rejected naming its field, and the worker then does its share", async () => {
    const run = await runWithFixture(["garbage.py"]);
    expect(run.error).toBeNull();
    const log = readFileSync(join(run.dir, "logs", "controller.log"), "utf8");
    const rejected = log.split("\n").filter((line) => line.includes("from w0: "));
    for (const field of ["header", "protocol", "type", "runId"]) {
      expect(rejected.some((line) => line.includes(`from w0: ${field}`)), `a reject naming ${field}`).toBe(true);
    }
    expect(log).toMatch(/refused w0-g8 from w0: a result before hello/);
    expect(readFileSync(join(run.dir, "logs", "w0.log"), "utf8")).toMatch(/controller answered .*reject/);
    const checked = checkFinishedRun(run.dir);
    // Its share: an epoch's tasks go to every idle worker, so a w0 that said hello before the
    // last epoch started trains in it. (A w0 slower than the whole run has no share to do.)
    const upAt = run.events.findIndex((event) => event.type === "worker-up" && event.workerId === "w0");
    const lastEpochAt = run.events.map((event) => event.type).lastIndexOf("epoch-start");
    if (upAt >= 0 && upAt < lastEpochAt) {
      expect(run.events.some((event) => event.type === "task-result" && event.workerId === "w0" && event.ok)).toBe(true);
    }
    expect(checked.final.sha256).toBe(reference?.final.sha256);
  });
});
