/**
 * The hub's tasks: queued tasks go to idle workers one at a time (those already holding
 * the start state first), and each result or loss goes back to the task's owner
 * (controller.ts), which says what it means; this file only moves them.
 */
import type { Experiment } from "../schema/index.js";
import type { MessageOf } from "../schema/wire/messages.js";
import { tauForm } from "../search/index.js";
import type { RouterEndpoint } from "../transport/router.js";
import type { TaskSpec } from "./epoch-run.js";
import type { EventStream } from "./events.js";
import { TaskQueue } from "./task-queue.js";
import type { Busy, WorkerPool, WorkerState } from "./worker-pool.js";

/** Who a queued task belongs to: its spec, its ids, and what to do with its outcome. */
export interface TaskOwner {
  spec: TaskSpec;
  taskId(attempt: number): string;
  /** The `keep` answer and what the result means, for the event. */
  onResult(workerId: string, message: MessageOf<"result">): { keep: boolean; finished: boolean; reason: string | null };
  /** The task's worker was lost; the owner decides (hub.retry) whether it runs again. */
  onLost(workerId: string, taskId: string, reason: string): void;
}

export interface TaskDispatchOptions {
  config: Experiment;
  router: RouterEndpoint;
  events: EventStream;
  pool: WorkerPool;
  maxTaskAttempts: number;
  /** sha256 of the state tasks start from now (CheckpointServer.startSha256). */
  startSha256: () => string | null;
  /** Stopping, or failed: no more tasks are given out. */
  ended: () => boolean;
  refuse: (to: string, msgId: string, reason: string) => void;
}

export class TaskDispatch {
  readonly #options: TaskDispatchOptions;
  readonly #queue: TaskQueue<TaskSpec>;
  readonly #owners = new Map<string, TaskOwner>();

  constructor(options: TaskDispatchOptions) {
    this.#options = options;
    this.#queue = new TaskQueue(options.maxTaskAttempts);
  }

  get maxAttempts(): number {
    return this.#queue.maxAttempts;
  }

  enqueue(key: string, owner: TaskOwner): void {
    this.#owners.set(key, owner);
    this.#queue.enqueue(key, owner.spec);
  }

  /** Queues a lost task again; false when its attempts are spent. */
  retry(key: string): boolean {
    return this.#queue.retry(key);
  }

  forgetOwner(key: string): void {
    this.#owners.delete(key);
  }

  /** Drops every waiting task (the run is stopping). */
  clear(): void {
    this.#queue.clear();
  }

  /** Gives queued tasks to idle workers, those already holding the start state first. */
  dispatch(): void {
    const { pool, router, events } = this.#options;
    while (this.#queue.size > 0 && !this.#options.ended()) {
      const worker = pool.idle(this.#options.startSha256())[0];
      if (worker === undefined) return;
      const queued = this.#queue.take();
      if (queued === undefined) return;
      const owner = this.#owners.get(queued.key) as TaskOwner;
      const taskId = owner.taskId(queued.attempt);
      const { spec } = owner;
      const { M, tScaleGrad, space } = this.#options.config.search;
      const msgId = router.send(worker.id, "task", { taskId, ...spec, M, tScaleGrad, tauForm: tauForm(space) });
      worker.busy = { kind: "task", key: queued.key, taskId, attempt: queued.attempt, msgId, startedMs: Date.now() };
      const { kind, epoch, sample } = spec;
      events.emit({ type: "task-start", taskId, workerId: worker.id, kind, epoch, sample, attempt: queued.attempt });
    }
  }

  onProgress(worker: WorkerState, message: MessageOf<"progress">): void {
    if (worker.busy?.kind === "task" && worker.busy.taskId === message.taskId) {
      const { taskId, step, steps, loss, samplesPerSec } = message;
      this.#options.events.emit({ type: "task-progress", taskId, workerId: worker.id, step, steps, loss, samplesPerSec });
    }
  }

  onResult(worker: WorkerState, message: MessageOf<"result">): void {
    const busy = worker.busy;
    if (busy?.kind !== "task" || busy.taskId !== message.taskId) {
      this.#options.refuse(worker.id, message.msgId, `a result for ${message.taskId}, which is not the task it runs`);
      return;
    }
    worker.busy = null;
    const owner = this.#owners.get(busy.key) as TaskOwner;
    worker.holdsStart = owner.spec.start;
    const outcome = owner.onResult(worker.id, message);
    this.#options.router.send(worker.id, "keep", { replyTo: message.msgId, taskId: message.taskId, keep: outcome.keep });
    const { kind, epoch, sample } = owner.spec;
    const { taskId, reward } = message;
    const { finished: ok, reason, keep } = outcome;
    const lossStats = message.lossStats ?? null;
    this.#options.events.emit({ type: "task-result", taskId, workerId: worker.id, kind, epoch, sample, ok, reward, reason, keep, lossStats });
  }

  /** A worker was lost: the task it ran goes back to its owner. */
  workerLost(workerId: string, busy: Busy, reason: string): void {
    if (busy?.kind === "task") this.#owners.get(busy.key)?.onLost(workerId, busy.taskId, reason);
  }
}
