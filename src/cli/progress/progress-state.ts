/**
 * What the live view shows, folded from the run's events: the epoch, each worker's task
 * and progress, the best reward so far, elapsed time and an ETA (the mean epoch time
 * times the epochs left, or within the first epoch the share of its tasks done).
 */
import type { TimedEvent } from "../../orchestrate/events.js";

export interface WorkerLine {
  workerId: string;
  device: string;
  taskId: string | null;
  step: number;
  steps: number;
  loss: number | null;
  samplesPerSec: number | null;
}

export class ProgressState {
  name = "";
  epochs = 0;
  epoch: number | null = null;
  B = 0;
  done = 0;
  bestReward: number | null = null;
  bestSample: number | null = null;
  readonly startedMs: number;
  epochStartedMs = 0;
  readonly epochDurationsMs: number[] = [];
  firstEpoch = 0;
  readonly workers = new Map<string, WorkerLine>();

  constructor(nowMs = Date.now()) {
    this.startedMs = nowMs;
  }

  apply(event: TimedEvent, nowMs = Date.now()): void {
    switch (event.type) {
      case "run-start":
        this.name = event.name;
        this.epochs = event.epochs;
        this.firstEpoch = event.nextEpoch;
        break;
      case "worker-up":
        this.workers.set(event.workerId, {
          workerId: event.workerId,
          device: event.device,
          taskId: null,
          step: 0,
          steps: 0,
          loss: null,
          samplesPerSec: null,
        });
        break;
      case "worker-lost":
      case "worker-fatal":
        this.workers.delete(event.workerId);
        break;
      case "epoch-start":
        this.epoch = event.epoch;
        this.B = event.B;
        this.done = 0;
        this.bestReward = null;
        this.bestSample = null;
        this.epochStartedMs = nowMs;
        break;
      case "task-start": {
        const line = this.workers.get(event.workerId);
        if (line !== undefined) Object.assign(line, { taskId: event.taskId, step: 0, steps: 0, loss: null, samplesPerSec: null });
        break;
      }
      case "task-progress": {
        const line = this.workers.get(event.workerId);
        if (line !== undefined && line.taskId === event.taskId) {
          Object.assign(line, { step: event.step, steps: event.steps, loss: event.loss, samplesPerSec: event.samplesPerSec });
        }
        break;
      }
      case "task-result": {
        const line = this.workers.get(event.workerId);
        if (line !== undefined) line.taskId = null;
        if (event.kind === "train") this.done += 1;
        if (event.keep && event.reward !== null) {
          this.bestReward = event.reward;
          this.bestSample = event.sample;
        }
        break;
      }
      case "task-failed":
        if (!event.requeued) this.done += 1;
        break;
      case "epoch-end":
        this.epochDurationsMs.push(event.durationMs);
        break;
      default:
        break;
    }
  }

  /** Milliseconds left, or null when there is nothing to go by yet. */
  etaMs(nowMs = Date.now()): number | null {
    if (this.epoch === null || this.epochs === 0) return null;
    const left = this.epochs - this.epoch - 1;
    if (this.epochDurationsMs.length > 0) {
      const mean = this.epochDurationsMs.reduce((a, b) => a + b, 0) / this.epochDurationsMs.length;
      const inEpoch = Math.max(0, mean - (nowMs - this.epochStartedMs));
      return inEpoch + left * mean;
    }
    const running = [...this.workers.values()].reduce((sum, w) => sum + (w.taskId !== null && w.steps > 0 ? w.step / w.steps : 0), 0);
    const fraction = this.B === 0 ? 0 : (this.done + running) / this.B;
    if (fraction <= 0) return null;
    const elapsed = nowMs - this.epochStartedMs;
    const epochMs = elapsed / fraction;
    return epochMs - elapsed + left * epochMs;
  }
}
