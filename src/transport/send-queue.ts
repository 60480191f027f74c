/**
 * zeromq allows one pending send per socket, so sends are chained: each waits for the one
 * before. A failed send (a peer that went away, a closed socket) is logged, not thrown:
 * the caller goes on, and the peer's silence is noticed by heartbeats. A peer that is gone
 * fails every send until the controller notices (a heartbeat a second): its first failure
 * is logged, the next ones only once one went through again, so the log keeps its cause;
 * a peer known to be gone (`peerGone`) is not logged at all.
 */
import type * as zmq from "zeromq";

export class SendQueue {
  readonly #socket: zmq.Writable;
  readonly #log: (line: string) => void;
  #tail: Promise<void> = Promise.resolve();
  /** Peers whose last send failed (that failure was logged), or known to be gone. */
  readonly #failing = new Set<string>();

  constructor(socket: zmq.Writable, log: (line: string) => void) {
    this.#socket = socket;
    this.#log = log;
  }

  /** Queues `frames`; `what` names the message in the log line when sending fails, `peer` its receiver. */
  push(frames: Uint8Array[], what: string, peer?: string): void {
    this.#tail = this.#tail.then(async () => {
      try {
        await this.#socket.send(frames);
      } catch (error) {
        this.#failed(what, peer, error as Error);
        return;
      }
      if (peer !== undefined) this.#failing.delete(peer);
    });
  }

  /** A peer known to be gone: failed sends to it are not logged (until one to it succeeds again). */
  peerGone(peer: string): void {
    this.#failing.add(peer);
  }

  /** Resolves once everything queued so far was handed to the socket (or failed). */
  flushed(): Promise<void> {
    return this.#tail;
  }

  #failed(what: string, peer: string | undefined, error: Error): void {
    if (peer === undefined) {
      this.#log(`transport: could not send ${what}: ${error.message}`);
      return;
    }
    if (this.#failing.has(peer)) return;
    this.#failing.add(peer);
    this.#log(`transport: could not send ${what}: ${error.message} (further failures to ${peer} are not logged until a send to it succeeds)`);
  }
}
