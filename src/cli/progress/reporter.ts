/** A consumer of run events that writes them for a person or a program. */
import type { TimedEvent } from "../../orchestrate/events.js";

export interface Reporter {
  onEvent(event: TimedEvent): void;
  /** Writes a line that is not an event (a summary, an error). */
  line(text: string): void;
  close(): void;
}

export interface Output {
  write(text: string): unknown;
}
