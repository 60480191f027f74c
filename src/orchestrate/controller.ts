/**
 * The controller of one run (Li et al., ICCV 2019, Algorithm 1; docs/protocol.md): it
 * gets the initial state w_0 from a worker, then for each epoch queues B tasks on the
 * workers, collects the validation rewards, has the best result uploaded as w_{t+1},
 * updates mu (src/search) and journals the epoch; after the last epoch it evaluates the
 * final model once on the test split. The journal (journal.ts) is always a complete
 * prefix of the run: an epoch's checkpoint is written before the record naming it, both
 * while the next epoch already runs, so a run killed at any moment resumes where the
 * journal ends. The workers and the messages are worker-hub.ts's.
 */
import type { Launcher } from "../launch/launcher.js";
import type { Experiment } from "../schema/index.js";
import type { MessageOf } from "../schema/wire/messages.js";
import { type PolicyState, finishEpoch, lossTheta, planEpoch, validityReport } from "../search/index.js";
import type { RouterEndpoint } from "../transport/router.js";
import { EpochRun, type TaskSpec } from "./epoch-run.js";
import { RunError } from "./errors.js";
import type { EventStream } from "./events.js";
import type { EpochRecord, FinalRecord, Journal } from "./journal.js";
import type { ResumePoint } from "./resume-point.js";
import { DEFAULT_KEEP_CHECKPOINTS, type RunDir, type StoredCheckpoint, checkpointName } from "./run-dir.js";
import { safetensorsProblem } from "./safetensors.js";
import { finalTaskId, taskSeed } from "./task-ids.js";
import { type TaskOwner, type Upload, WorkerHub } from "./worker-hub.js";

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
export const DEFAULT_MAX_TASK_ATTEMPTS = 3;

export interface ControllerOptions {
  config: Experiment;
  runDir: RunDir;
  journal: Journal;
  point: ResumePoint;
  /** The bytes of `point.start`, already read and verified (runIn checks them before any worker starts). */
  startBytes?: Buffer;
  router: RouterEndpoint;
  /** Null when the workers are started by someone else (tests, user scripts). */
  launcher: Launcher | null;
  events: EventStream;
  log: (line: string) => void;
  heartbeatIntervalMs?: number;
  maxTaskAttempts?: number;
  keepCheckpoints?: number;
  /** Grace period of each stop step (shutdown, SIGTERM, SIGKILL). */
  stopGraceMs?: number;
  /** With a CURVE socket: writes a new worker's key file and allows its key (run.ts). */
  curveKeysFor?: (workerId: string) => string;
}

export interface RunSummary {
  epochs: { epoch: number; best: number; bestReward: number; rewards: (number | null)[] }[];
  mu: number[];
  final: FinalRecord;
}

export class Controller {
  readonly #config: Experiment;
  readonly #runDir: RunDir;
  readonly #journal: Journal;
  readonly #events: EventStream;
  readonly #log: (line: string) => void;
  readonly #keepCheckpoints: number;
  readonly #hub: WorkerHub;
  #point: ResumePoint;
  #startBytes: Buffer | undefined;
  #policy: PolicyState;
  #start: { stored: StoredCheckpoint; bytes: Buffer } | null = null;
  /** The epoch running now: a worker that goes away takes the results it held with it. */
  #epoch: EpochRun | null = null;
  /** Checkpoint and journal writes of finished epochs, in order (see #persist). */
  #persisting: Promise<void> = Promise.resolve();
  #writeFailed = false;

  constructor(options: ControllerOptions) {
    this.#config = options.config;
    this.#runDir = options.runDir;
    this.#journal = options.journal;
    this.#point = options.point;
    this.#startBytes = options.startBytes;
    this.#policy = options.point.policy;
    this.#events = options.events;
    this.#log = options.log;
    this.#keepCheckpoints = Math.max(1, options.keepCheckpoints ?? DEFAULT_KEEP_CHECKPOINTS);
    this.#hub = new WorkerHub({
      config: options.config,
      router: options.router,
      launcher: options.launcher,
      events: options.events,
      log: options.log,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      maxTaskAttempts: options.maxTaskAttempts ?? DEFAULT_MAX_TASK_ATTEMPTS,
      stopGraceMs: options.stopGraceMs ?? 2000,
      loadCheckpoint: (checkpoint) => this.#runDir.loadCheckpoint(checkpoint),
      receiveDir: this.#runDir.transferDir,
      ...(options.curveKeysFor === undefined ? {} : { curveKeysFor: options.curveKeysFor }),
    });
    for (const record of [options.point.init, ...options.point.epochs]) {
      if (record !== null) this.#hub.remember({ file: record.checkpoint, sha256: record.sha256 });
    }
    this.#hub.onWorkerGone((workerId) => this.#epoch?.workerGone(workerId));
  }

  /** Runs the rest of the search and the final evaluation; throws RunError when the run stops early. */
  async run(): Promise<RunSummary> {
    try {
      await this.#hub.start();
      await this.#prepareStart();
      for (let epoch = this.#point.nextEpoch; epoch < this.#config.search.epochs; epoch++) {
        await this.#runEpoch(epoch);
      }
      await this.#persisted();
      const final = this.#point.final ?? (await this.#evaluateFinal());
      const epochs = this.#point.epochs.map(({ epoch, best, bestReward, rewards }) => ({ epoch, best, bestReward, rewards }));
      return { epochs, mu: this.#policy.mu, final };
    } finally {
      await this.#persisting;
      const fatal = this.#hub.fatal;
      await this.#hub.stop(fatal === null ? "run finished" : `run stopped: ${fatal.message}`);
    }
  }

  /** Stops the run from outside (a signal); `run()` then rejects with a resumable RunError. */
  interrupt(reason: string): void {
    this.#hub.fail(new RunError(`interrupted (${reason})`, { resumable: true }));
  }

  async #prepareStart(): Promise<void> {
    const stored = this.#point.start;
    if (stored !== null) {
      this.#setStart(stored, this.#startBytes ?? (await this.#runDir.loadCheckpoint(stored)));
      return;
    }
    const upload = await this.#initialState();
    const checkpoint = await this.#runDir.storeCheckpoint(0, upload.bytes, upload.sha256);
    const record = {
      kind: "init" as const,
      checkpoint: checkpoint.file,
      sha256: checkpoint.sha256,
      sizeBytes: checkpoint.sizeBytes,
      seed: this.#config.seed,
      workerId: upload.workerId,
      time: new Date().toISOString(),
    };
    await this.#journal.append(record);
    this.#point = { ...this.#point, init: record, start: checkpoint };
    this.#setStart(checkpoint, upload.bytes);
    this.#events.emit({ type: "checkpoint-stored", ...checkpoint, epoch: null, workerId: upload.workerId });
  }

  /** w_0, built from the seed by a worker; another one when that worker is lost meanwhile. */
  async #initialState(): Promise<Upload> {
    for (let attempt = 0; attempt < this.#hub.maxAttempts; attempt++) {
      const upload = await this.#hub.requestInitialState(this.#config.seed);
      if (upload !== null) return upload;
    }
    throw new RunError(`no initial checkpoint: ${this.#hub.maxAttempts} workers were lost while building it`);
  }

  #setStart(stored: StoredCheckpoint, bytes: Buffer): void {
    this.#start = { stored, bytes };
    this.#hub.setStart(stored, bytes);
  }

  async #runEpoch(epoch: number): Promise<void> {
    const start = this.#start as { stored: StoredCheckpoint; bytes: Buffer };
    const thetas = planEpoch(this.#policy, epoch);
    const { M, space } = this.#config.search;
    const lossThetas = thetas.map((theta) => lossTheta(theta, M, space)); // what the workers train
    const run = new EpochRun(epoch, lossThetas, taskSeed(this.#config.seed, epoch), start.stored.sha256);
    const epochs = this.#config.search.epochs;
    this.#events.emit({ type: "epoch-start", epoch, epochs, B: thetas.length, start: start.stored.file });
    this.#epoch = run;
    thetas.forEach((_, sample) => this.#hub.enqueue(run.key(sample), this.#trainOwner(run, sample)));
    await this.#hub.until(() => run.settled());

    const outcome = finishEpoch(this.#policy, thetas, run.rewards());
    if (outcome.best === null) {
      const reasons = run.failures.map((failure) => `${failure.taskId} on ${failure.workerId}: ${failure.reason}`);
      throw new RunError(`epoch ${epoch}: no sample finished, so there is no winner (${reasons.join("; ")})`);
    }
    if (outcome.best !== run.best.sample) {
      throw new RunError(`internal: the kept result (sample ${run.best.sample}) is not the best (${outcome.best})`);
    }
    const uploadStartedMs = Date.now();
    const winner = await this.#winnerState(run, outcome.best);
    const uploadMs = Date.now() - uploadStartedMs;
    const problem = safetensorsProblem(winner.bytes);
    if (problem !== null) {
      throw new RunError(`epoch ${epoch}: the winner's state from ${winner.workerId} is not a safetensors file: ${problem}`);
    }
    const stored = { file: checkpointName(epoch + 1), sha256: winner.sha256, sizeBytes: winner.bytes.byteLength };
    const rewards = run.rewards();
    const record: EpochRecord = {
      kind: "epoch",
      epoch,
      seed: run.seed,
      thetas,
      lossThetas,
      rewards,
      failures: run.failures,
      normalized: outcome.normalized,
      best: outcome.best,
      bestReward: rewards[outcome.best] as number,
      muBefore: this.#policy.mu,
      mu: outcome.state.mu,
      adam: outcome.state.adam,
      applied: outcome.applied,
      validity: lossThetas.map((theta) => validityReport(theta, M)),
      lossStats: run.lossStats(),
      winner: { taskId: winner.taskId, workerId: winner.workerId },
      ...{ checkpoint: stored.file, sha256: stored.sha256, sizeBytes: stored.sizeBytes },
      timingsMs: { epoch: Date.now() - run.startedMs, upload: uploadMs, tasks: run.timings() },
      time: new Date().toISOString(),
    };
    this.#policy = outcome.state;
    this.#setStart(stored, winner.bytes);
    this.#point = { ...this.#point, nextEpoch: epoch + 1, start: stored, epochs: [...this.#point.epochs, record] };
    this.#epoch = null;
    thetas.forEach((_, sample) => this.#hub.forgetOwner(run.key(sample)));
    // The next epoch needs only the bytes in memory; the checkpoint, then the journal
    // record naming it, are written while it runs (a crash before the record: the
    // journal ends one epoch earlier, and resume runs this epoch again).
    this.#persist(async () => {
      await this.#runDir.storeCheckpoint(epoch + 1, winner.bytes, winner.sha256);
      this.#events.emit({ type: "checkpoint-stored", ...stored, epoch, workerId: winner.workerId });
      await this.#journal.append(record);
      await this.#pruneCheckpoints(epoch + 1);
    });
    this.#events.emit({
      type: "epoch-end",
      epoch,
      epochs,
      rewards,
      best: outcome.best,
      bestReward: record.bestReward,
      applied: outcome.applied,
      mu: outcome.state.mu,
      durationMs: record.timingsMs.epoch,
      failures: run.failures.length,
    });
  }

  /**
   * Queues a write behind the earlier ones. A failed write stops the run and the writes
   * after it (an interrupted run still writes the epochs it finished).
   */
  #persist(step: () => Promise<void>): void {
    this.#persisting = this.#persisting
      .then(() => (this.#writeFailed ? undefined : step()))
      .catch((error: unknown) => {
        this.#writeFailed = true;
        this.#hub.fail(error instanceof Error ? error : new Error(String(error)));
      });
  }

  /** Waits for the queued writes; throws when one failed. */
  async #persisted(): Promise<void> {
    await this.#persisting;
    if (this.#hub.fatal !== null) throw this.#hub.fatal;
  }

  /** The winner's trained state: uploaded by its holder, or trained again when the holder is gone. */
  async #winnerState(run: EpochRun, sample: number): Promise<Upload & { taskId: string }> {
    for (let reruns = 0; ; reruns++) {
      const holder = run.holder(sample);
      if (holder !== null) {
        const upload = await this.#hub.requestUpload(holder);
        if (upload !== null) return { ...upload, taskId: holder.taskId };
        run.workerGone(holder.workerId);
      }
      const previous = run.rerun(sample);
      if ((previous?.settled === true && previous.reward === null) || reruns >= this.#hub.maxAttempts) {
        throw new RunError(
          `epoch ${run.epoch}: the winner (sample ${sample}) was lost before its upload and could not be trained again`,
        );
      }
      this.#log(`epoch ${run.epoch}: the holder of the winner (sample ${sample}) is gone; training it again`);
      run.startRerun(sample);
      this.#hub.enqueue(run.key(sample), this.#trainOwner(run, sample));
      await this.#hub.until(() => run.rerun(sample)?.settled === true);
    }
  }

  #trainOwner(run: EpochRun, sample: number): TaskOwner {
    return {
      spec: run.spec(sample),
      taskId: (attempt) => run.taskId(sample, attempt),
      onResult: (workerId, message) => {
        const outcome = run.result(sample, workerId, message);
        if (outcome.release !== null) this.#hub.release(outcome.release);
        return outcome;
      },
      onLost: (workerId, taskId, reason) => {
        const requeued = this.#hub.retry(run.key(sample));
        run.lost(sample, { workerId, taskId }, reason, requeued);
        this.#events.emit({ type: "task-failed", taskId, workerId, epoch: run.epoch, sample, reason, requeued });
      },
    };
  }

  /** The final model evaluated once on the test split (theta: the loss of the last winner). */
  async #evaluateFinal(): Promise<FinalRecord> {
    const start = this.#start as { stored: StoredCheckpoint; bytes: Buffer };
    const epochs = this.#config.search.epochs;
    const last = this.#point.epochs.at(-1);
    const { M, space } = this.#config.search;
    const theta = lossTheta(last === undefined ? this.#policy.mu : (last.thetas[last.best] as number[]), M, space);
    const seed = taskSeed(this.#config.seed, epochs);
    const spec: TaskSpec = { kind: "evaluate", epoch: epochs, sample: 0, theta, seed, start: start.stored.sha256, split: "test" };
    let outcome: { message: MessageOf<"result">; workerId: string } | null = null;
    let failure: string | null = null;
    this.#hub.enqueue("final", {
      spec,
      taskId: finalTaskId,
      onResult: (workerId, message) => {
        if (message.ok) outcome = { message, workerId };
        else failure = message.reason ?? "the worker reported a failure without a reason";
        return { keep: false, finished: message.ok, reason: failure };
      },
      onLost: (workerId, taskId, reason) => {
        const requeued = this.#hub.retry("final");
        this.#events.emit({ type: "task-failed", taskId, workerId, epoch: epochs, sample: 0, reason, requeued });
        if (!requeued) failure = `${taskId} lost with worker ${workerId}: ${reason}`;
      },
    });
    await this.#hub.until(() => outcome !== null || failure !== null);
    const result = outcome as { message: MessageOf<"result">; workerId: string } | null;
    if (result === null) throw new RunError(`the final evaluation on the test split failed: ${failure}`);
    const { message, workerId } = result;
    const { file: checkpoint, sha256, sizeBytes } = start.stored;
    const files = await this.#runDir.writeFinal(start.bytes, {
      split: "test",
      metric: this.#config.reward.metric,
      reward: message.reward,
      metrics: message.metrics,
      checkpoint,
      sha256,
      taskId: message.taskId,
      workerId,
      timingsMs: message.timingsMs,
    });
    const record: FinalRecord = {
      kind: "final",
      metrics: message.metrics,
      reward: message.reward,
      split: "test",
      checkpoint,
      sha256,
      sizeBytes,
      model: files.model,
      taskId: message.taskId,
      workerId,
      time: new Date().toISOString(),
    };
    await this.#journal.append(record);
    this.#events.emit({ type: "final", metrics: message.metrics, reward: message.reward, checkpoint, model: files.model });
    return record;
  }

  /** Keeps the last `keepCheckpoints` states (in AM-LFS the best model is the latest winner). */
  async #pruneCheckpoints(latest: number): Promise<void> {
    const count = Math.min(this.#keepCheckpoints, latest + 1);
    const keep = Array.from({ length: count }, (_, i) => checkpointName(latest - i));
    this.#hub.forget(await this.#runDir.pruneCheckpoints(keep));
  }
}
