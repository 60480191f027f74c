/**
 * The live view on a terminal: a compact block redrawn in place (epoch e/E, one line per
 * worker with its task, step of steps, loss and samples/s, elapsed time and ETA), with
 * the lasting lines of the plain view (epoch ends with their rewards and mu, failures, controller log, warnings
 * about tasks that trained almost nothing) printed above it.
 */
import type { TimedEvent } from "../../orchestrate/events.js";
import { deadLossWarning } from "./dead-warning.js";
import { formatNumber } from "../../report/numbers.js";
import { formatDuration } from "./format.js";
import { plainLine } from "./plain.js";
import { ProgressState } from "./progress-state.js";
import type { Output, Reporter } from "./reporter.js";

const LASTING = new Set<TimedEvent["type"]>([
  "run-start",
  "worker-up",
  "worker-lost",
  "worker-fatal",
  "epoch-end",
  "task-failed",
  "final",
  "log",
  "run-end",
]);
const REDRAW_MS = 200;

export class LiveReporter implements Reporter {
  readonly #out: Output;
  readonly #state = new ProgressState();
  #drawn = 0;
  #dirty = false;
  #closed = false;
  readonly #timer: NodeJS.Timeout;

  constructor(out: Output) {
    this.#out = out;
    this.#timer = setInterval(() => this.#redraw(false), REDRAW_MS);
    this.#timer.unref();
  }

  onEvent(event: TimedEvent): void {
    this.#state.apply(event);
    const failed = event.type === "task-result" && !event.ok;
    if (LASTING.has(event.type) || failed) {
      const text = plainLine(event);
      if (text !== null) this.line(text);
    }
    const warning = deadLossWarning(event);
    if (warning !== null) this.line(warning);
    this.#dirty = true;
    // After the run, the summary follows as plain lines.
    if (event.type === "run-end") this.close();
  }

  line(text: string): void {
    this.#clear();
    this.#out.write(`${text}\n`);
    if (!this.#closed) this.#redraw(true);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#clear();
  }

  #clear(): void {
    if (this.#drawn > 0) this.#out.write(`\x1b[${this.#drawn}F\x1b[J`);
    this.#drawn = 0;
  }

  #redraw(force: boolean): void {
    if (this.#closed || (!force && !this.#dirty)) return;
    this.#dirty = false;
    const lines = this.#block();
    this.#clear();
    if (lines.length > 0) this.#out.write(`${lines.join("\n")}\n`);
    this.#drawn = lines.length;
  }

  #block(): string[] {
    const state = this.#state;
    if (state.epoch === null) return state.workers.size === 0 ? [] : [`${state.name}: starting, ${state.workers.size} worker(s) up`];
    const now = Date.now();
    const eta = state.etaMs(now);
    const best = state.bestReward === null ? "-" : `${formatNumber(state.bestReward)} (sample ${state.bestSample})`;
    const head =
      `${state.name}  epoch ${state.epoch + 1}/${state.epochs}  tasks ${state.done}/${state.B}  best ${best}  ` +
      `elapsed ${formatDuration(now - state.startedMs)}  ETA ${eta === null ? "?" : formatDuration(eta)}`;
    const rows = [...state.workers.values()].map((worker) => {
      if (worker.taskId === null) return `  ${worker.workerId.padEnd(8)} idle`;
      const step = worker.steps > 0 ? `step ${worker.step}/${worker.steps}` : "starting";
      const speed = worker.samplesPerSec === null ? "" : `  ${worker.samplesPerSec.toFixed(0)} samples/s`;
      return `  ${worker.workerId.padEnd(8)} ${worker.taskId}  ${step}  loss ${formatNumber(worker.loss)}${speed}`;
    });
    return [head, ...rows];
  }
}
