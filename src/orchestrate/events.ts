/**
 * Typed progress events of a run, for the CLI (live view, plain lines, `--json`) and for
 * tests. `EventStream` delivers each event to every listener synchronously, in order, and
 * can be read as an async iterable. A `task-result` carries the result's `lossStats` (how
 * the sampled loss acted on the task's training examples; null when not measured). A
 * `worker-fatal` is a worker that cannot run the experiment's config or data (its `fatal`
 * message, `exitCode` null, or its exit status 2): the run fails right after it.
 */
import type { LossStats } from "../schema/wire/loss-stats.js";

export type RunEvent =
  | { type: "run-start"; runDir: string; runId: string; name: string; epochs: number; B: number; W: number; nextEpoch: number; resumed: boolean; endpoint: string }
  | { type: "worker-up"; workerId: string; pid: number; host: string; device: string; threads: number; adapter: string }
  | { type: "worker-lost"; workerId: string; reason: string }
  | { type: "worker-fatal"; workerId: string; kind: "config"; reason: string; exitCode: number | null }
  | { type: "init-request"; workerId: string; seed: number }
  | { type: "epoch-start"; epoch: number; epochs: number; B: number; start: string }
  | { type: "task-start"; taskId: string; workerId: string; kind: "train" | "evaluate"; epoch: number; sample: number; attempt: number }
  | { type: "task-progress"; taskId: string; workerId: string; step: number; steps: number; loss: number | null; samplesPerSec: number | null }
  | { type: "task-result"; taskId: string; workerId: string; kind: "train" | "evaluate"; epoch: number; sample: number; ok: boolean; reward: number | null; reason: string | null; keep: boolean; lossStats: LossStats | null }
  | { type: "task-failed"; taskId: string; workerId: string; epoch: number; sample: number; reason: string; requeued: boolean }
  | { type: "checkpoint-stored"; file: string; sha256: string; sizeBytes: number; epoch: number | null; workerId: string }
  | { type: "epoch-end"; epoch: number; epochs: number; rewards: (number | null)[]; best: number; bestReward: number; applied: boolean; mu: number[]; durationMs: number; failures: number }
  | { type: "final"; metrics: Record<string, number | null>; reward: number | null; checkpoint: string; model: string }
  | { type: "log"; message: string }
  | { type: "run-end"; status: "finished" | "failed" | "interrupted"; runDir: string; message: string | null; resumable: boolean };

export type TimedEvent = RunEvent & { time: string };
export type EventListener = (event: TimedEvent) => void;

export class EventStream {
  readonly #listeners = new Set<EventListener>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: RunEvent): void {
    const timed = { ...event, time: new Date().toISOString() } as TimedEvent;
    for (const listener of this.#listeners) listener(timed);
  }

  /** Every event from now until `run-end`, as an async iterable. */
  async *[Symbol.asyncIterator](): AsyncGenerator<TimedEvent> {
    const buffered: TimedEvent[] = [];
    let wake: (() => void) | null = null;
    const unsubscribe = this.subscribe((event) => {
      buffered.push(event);
      wake?.();
    });
    try {
      for (;;) {
        const event = buffered.shift();
        if (event === undefined) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          continue;
        }
        yield event;
        if (event.type === "run-end") return;
      }
    } finally {
      unsubscribe();
    }
  }
}
