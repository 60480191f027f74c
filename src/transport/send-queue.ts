/**
 * zeromq allows one pending send per socket, so sends are chained: each waits for the one
 * before. A failed send (a peer that went away, a closed socket) is logged, not thrown:
 * the caller goes on, and the peer's silence is noticed by heartbeats.
 */
import type * as zmq from "zeromq";

export class SendQueue {
  readonly #socket: zmq.Writable;
  readonly #log: (line: string) => void;
  #tail: Promise<void> = Promise.resolve();

  constructor(socket: zmq.Writable, log: (line: string) => void) {
    this.#socket = socket;
    this.#log = log;
  }

  /** Queues `frames`; `what` names the message in the log line when sending fails. */
  push(frames: Uint8Array[], what: string): void {
    this.#tail = this.#tail.then(async () => {
      try {
        await this.#socket.send(frames);
      } catch (error) {
        this.#log(`transport: could not send ${what}: ${(error as Error).message}`);
      }
    });
  }

  /** Resolves once everything queued so far was handed to the socket (or failed). */
  flushed(): Promise<void> {
    return this.#tail;
  }
}
