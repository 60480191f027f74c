/**
 * The samples of one epoch while it runs (Algorithm 1): which finished with which reward,
 * which failed and why, and who holds the best trained state so far. Results arrive in
 * any order; `EpochBest` decides what is kept. After the epoch, the winner's state may
 * have to be trained again when its holder died before uploading it (a "rerun": same
 * theta, seed and start, docs/protocol.md, "A lost winner").
 */
import type { LossStats } from "../schema/wire/loss-stats.js";
import type { MessageOf } from "../schema/wire/messages.js";
import { EpochBest } from "./epoch-best.js";
import type { FailureRecord } from "./journal.js";
import { trainTaskId } from "./task-ids.js";

export interface TaskSpec {
  kind: "train" | "evaluate";
  epoch: number;
  sample: number;
  theta: number[];
  seed: number;
  start: string;
  split: "val" | "test";
}

export interface Holder {
  workerId: string;
  taskId: string;
}

interface SampleState {
  reward: number | null;
  settled: boolean;
  holder: Holder | null;
  timingsMs: Record<string, number> | null;
  /** How the sample's loss acted on its training examples, from its settling result (null: not measured). */
  lossStats: LossStats | null;
  /** While the winner is trained again: whether that rerun has settled. */
  rerun: { settled: boolean; reward: number | null } | null;
}

/** What a result did: the `keep` answer, and a beaten result to release. */
export interface ResultOutcome {
  keep: boolean;
  release: Holder | null;
  finished: boolean;
  reason: string | null;
}

export class EpochRun {
  readonly epoch: number;
  readonly thetas: number[][];
  readonly seed: number;
  readonly start: string;
  readonly failures: FailureRecord[] = [];
  readonly best = new EpochBest();
  readonly startedMs = Date.now();
  readonly #samples: SampleState[];

  constructor(epoch: number, thetas: number[][], seed: number, start: string) {
    this.epoch = epoch;
    this.thetas = thetas;
    this.seed = seed;
    this.start = start;
    this.#samples = thetas.map(() => ({ reward: null, settled: false, holder: null, timingsMs: null, lossStats: null, rerun: null }));
  }

  /** The queue key of sample `k` (one per sample; attempts are counted under it). */
  key(sample: number): string {
    return `epoch-${this.epoch}-sample-${sample}`;
  }

  taskId(sample: number, attempt: number): string {
    return trainTaskId(this.epoch, sample, attempt);
  }

  spec(sample: number): TaskSpec {
    const theta = this.thetas[sample] as number[];
    return { kind: "train", epoch: this.epoch, sample, theta, seed: this.seed, start: this.start, split: "val" };
  }

  #sample(k: number): SampleState {
    const state = this.#samples[k];
    if (state === undefined) throw new RangeError(`epoch ${this.epoch} has no sample ${k}`);
    return state;
  }

  /** A result for sample `k` from `workerId`. A NaN/null reward or ok:false is a failure. */
  result(k: number, workerId: string, message: MessageOf<"result">): ResultOutcome {
    const state = this.#sample(k);
    const finished = message.ok && typeof message.reward === "number" && Number.isFinite(message.reward);
    const reason = finished ? null : failureReason(message);
    const holder = { workerId, taskId: message.taskId };
    if (state.rerun !== null) {
      state.rerun = { settled: true, reward: finished ? (message.reward as number) : null };
      if (!finished) this.#failure(k, holder, reason as string, false);
      state.holder = finished ? holder : null;
      return { keep: finished, release: null, finished, reason };
    }
    state.settled = true;
    state.timingsMs = message.timingsMs;
    state.lossStats = message.lossStats ?? null;
    if (!finished) {
      this.#failure(k, holder, reason as string, false);
      return { keep: false, release: null, finished, reason };
    }
    state.reward = message.reward as number;
    const offer = this.best.offer(k, state.reward);
    if (!offer.keep) return { keep: false, release: null, finished, reason };
    state.holder = holder;
    let release: Holder | null = null;
    if (offer.released !== null) {
      const beaten = this.#sample(offer.released);
      release = beaten.holder;
      beaten.holder = null;
    }
    return { keep: true, release, finished, reason };
  }

  /** Sample `k`'s attempt was lost with its worker; `requeued` says whether it runs again. */
  lost(k: number, holder: Holder, reason: string, requeued: boolean): void {
    const state = this.#sample(k);
    this.#failure(k, holder, reason, requeued);
    if (requeued) return;
    if (state.rerun !== null) state.rerun = { settled: true, reward: null };
    else state.settled = true;
  }

  /** A worker went away: whatever it held is gone. */
  workerGone(workerId: string): void {
    for (const state of this.#samples) if (state.holder?.workerId === workerId) state.holder = null;
  }

  holder(k: number): Holder | null {
    return this.#sample(k).holder;
  }

  /** Marks sample `k` to be trained again because its holder is gone. */
  startRerun(k: number): void {
    this.#sample(k).rerun = { settled: false, reward: null };
  }

  rerun(k: number): { settled: boolean; reward: number | null } | null {
    return this.#sample(k).rerun;
  }

  settled(): boolean {
    return this.#samples.every((state) => state.settled);
  }

  rewards(): (number | null)[] {
    return this.#samples.map((state) => state.reward);
  }

  timings(): (Record<string, number> | null)[] {
    return this.#samples.map((state) => state.timingsMs);
  }

  /** Per sample, the `lossStats` of the result that settled it (a winner's rerun trains the same loss again: not counted twice). */
  lossStats(): (LossStats | null)[] {
    return this.#samples.map((state) => state.lossStats);
  }

  #failure(sample: number, holder: Holder, reason: string, requeued: boolean): void {
    this.failures.push({ sample, taskId: holder.taskId, workerId: holder.workerId, reason, requeued });
  }
}

function failureReason(message: MessageOf<"result">): string {
  if (!message.ok) return message.reason ?? "the worker reported a failure without a reason";
  if (message.reward === null) return "the reward is null (NaN on the worker)";
  return `the reward is not finite (${String(message.reward)})`;
}
