/** One plain line per event, for logs that are not a terminal (CI), and a warning after a task that trained almost nothing. */
import type { TimedEvent } from "../../orchestrate/events.js";
import { deadLossWarning } from "./dead-warning.js";
import { formatNumber } from "../../report/numbers.js";
import { formatBytes, formatDuration, formatMetrics, formatMu, formatRewards } from "./format.js";
import type { Output, Reporter } from "./reporter.js";

/** The line for an event, or null for events not worth a line (most progress). */
export function plainLine(event: TimedEvent): string | null {
  switch (event.type) {
    case "run-start":
      return (
        `${event.resumed ? "resuming" : "starting"} run ${event.name}: ${event.epochs} epochs, B=${event.B}, ` +
        `W=${event.W}${event.resumed ? `, from epoch ${event.nextEpoch + 1}` : ""}; run dir ${event.runDir}; ` +
        `controller at ${event.endpoint}`
      );
    case "worker-up":
      return `worker ${event.workerId} up: pid ${event.pid} on ${event.host}, ${event.device}, ${event.threads} threads`;
    case "worker-lost":
      return `worker ${event.workerId} lost: ${event.reason}`;
    case "worker-fatal":
      return `worker ${event.workerId} cannot run this config${event.exitCode === null ? "" : ` (exit code ${event.exitCode})`}: ${event.reason}`;
    case "init-request":
      return `worker ${event.workerId} builds the initial model (seed ${event.seed})`;
    case "epoch-start":
      return `epoch ${event.epoch + 1}/${event.epochs}: ${event.B} tasks from ${event.start}`;
    case "task-start":
      return `  ${event.taskId} started on ${event.workerId}`;
    case "task-progress":
      if (event.steps === 0 || event.step !== event.steps) return null;
      return `  ${event.taskId} on ${event.workerId}: step ${event.step}/${event.steps}, loss ${formatNumber(event.loss)}`;
    case "task-result":
      if (!event.ok) return `  ${event.taskId} on ${event.workerId} failed: ${event.reason}`;
      return (
        `  ${event.taskId} on ${event.workerId}: ${event.kind === "evaluate" ? "test" : "validation"} reward ` +
        `${formatNumber(event.reward)}${event.keep ? " (best this epoch so far, kept)" : ""}`
      );
    case "task-failed":
      return `  ${event.taskId} on ${event.workerId} lost: ${event.reason}${event.requeued ? " (queued again)" : " (recorded as failed)"}`;
    case "checkpoint-stored":
      return `  stored ${event.file} (${formatBytes(event.sizeBytes)}, sha256 ${event.sha256.slice(0, 12)}...)`;
    case "epoch-end":
      // Two lines within 100 columns: the rewards the update read, then mu after it.
      return (
        `epoch ${event.epoch + 1}/${event.epochs} done in ${formatDuration(event.durationMs)}: ` +
        `${formatRewards(event.rewards)}, best sample ${event.best}\n` +
        `  mu ${event.applied ? "updated" : "unchanged"}: ${formatMu(event.mu)}` +
        `${event.failures > 0 ? `; ${event.failures} failure(s)` : ""}`
      );
    case "final":
      return `final model on the test split: ${formatMetrics(event.metrics)} (${event.model})`;
    case "log":
      return `  [controller] ${event.message}`;
    case "run-end":
      if (event.status === "finished") return `run finished: ${event.runDir}`;
      return (
        `run ${event.status}: ${event.message ?? ""}` +
        `${event.resumable ? `\n  resume with: amlfs resume ${event.runDir}` : ""}`
      );
    default:
      return null;
  }
}

export class PlainReporter implements Reporter {
  readonly #out: Output;

  constructor(out: Output) {
    this.#out = out;
  }

  onEvent(event: TimedEvent): void {
    const text = plainLine(event);
    if (text !== null) this.#out.write(`${text}\n`);
    const warning = deadLossWarning(event);
    if (warning !== null) this.#out.write(`${warning}\n`);
  }

  line(text: string): void {
    this.#out.write(`${text}\n`);
  }

  close(): void {}
}
