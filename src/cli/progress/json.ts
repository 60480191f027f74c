/** `--json`: one JSON object per line on stdout, every event as emitted. */
import type { TimedEvent } from "../../orchestrate/events.js";
import type { Output, Reporter } from "./reporter.js";

export class JsonReporter implements Reporter {
  readonly #out: Output;

  constructor(out: Output) {
    this.#out = out;
  }

  onEvent(event: TimedEvent): void {
    this.#out.write(`${JSON.stringify(event)}\n`);
  }

  /** Non-event output becomes an event too, so stdout stays one JSON object per line. */
  line(text: string): void {
    this.#out.write(`${JSON.stringify({ type: "message", message: text, time: new Date().toISOString() })}\n`);
  }

  emit(value: Record<string, unknown>): void {
    this.#out.write(`${JSON.stringify(value)}\n`);
  }

  close(): void {}
}
