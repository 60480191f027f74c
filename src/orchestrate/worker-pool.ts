/**
 * The workers the controller knows: who said hello, when each was last heard from, what
 * each is doing, and which start state it already holds (so a task from that state goes
 * to it first and needs no download). A lost worker is remembered so that anything it
 * still sends is refused.
 */
import type { MessageOf } from "../schema/wire/messages.js";

export type Busy =
  | { kind: "task"; key: string; taskId: string; attempt: number; msgId: string; startedMs: number }
  | { kind: "init"; msgId: string }
  | null;

export interface WorkerState {
  id: string;
  hello: MessageOf<"hello">;
  lastSeenMs: number;
  busy: Busy;
  /** sha256 of the start state the worker holds, when known. */
  holdsStart: string | null;
}

export class WorkerPool {
  readonly #workers = new Map<string, WorkerState>();
  readonly #lost = new Set<string>();

  add(hello: MessageOf<"hello">, nowMs: number): WorkerState {
    const state: WorkerState = { id: hello.sender, hello, lastSeenMs: nowMs, busy: null, holdsStart: null };
    this.#workers.set(hello.sender, state);
    this.#lost.delete(hello.sender);
    return state;
  }

  get(id: string): WorkerState | undefined {
    return this.#workers.get(id);
  }

  isLost(id: string): boolean {
    return this.#lost.has(id);
  }

  /** Removes a worker, remembering it as lost; returns its state if it was known. */
  remove(id: string): WorkerState | undefined {
    const state = this.#workers.get(id);
    this.#workers.delete(id);
    this.#lost.add(id);
    return state;
  }

  all(): WorkerState[] {
    return [...this.#workers.values()];
  }

  get size(): number {
    return this.#workers.size;
  }

  /** Idle workers, those already holding `start` first. */
  idle(start: string | null = null): WorkerState[] {
    const idle = this.all().filter((worker) => worker.busy === null);
    return [...idle.filter((w) => w.holdsStart === start), ...idle.filter((w) => w.holdsStart !== start)];
  }

  /** Workers silent for longer than `timeoutMs`. */
  silent(nowMs: number, timeoutMs: number): WorkerState[] {
    return this.all().filter((worker) => nowMs - worker.lastSeenMs > timeoutMs);
  }
}
