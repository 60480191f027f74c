/**
 * The tasks waiting for a worker, with attempts counted per task (a sample of an epoch,
 * or the final evaluation). A task given back after its worker was lost goes to the
 * front, under a new attempt number, while its budget of `maxAttempts` lasts.
 */
export interface QueuedTask<S> {
  key: string;
  spec: S;
  /** 0 for the first attempt. */
  attempt: number;
}

interface Entry<S> {
  spec: S;
  /** Attempts made so far, over the task's whole life (task ids never repeat). */
  made: number;
  /** Attempts left in the current budget. */
  left: number;
}

export class TaskQueue<S> {
  readonly maxAttempts: number;
  readonly #entries = new Map<string, Entry<S>>();
  #waiting: string[] = [];

  constructor(maxAttempts: number) {
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new RangeError(`maxTaskAttempts must be an integer >= 1, got ${maxAttempts}`);
    }
    this.maxAttempts = maxAttempts;
  }

  /** Queues a task with a fresh budget; a key seen before keeps counting its attempts. */
  enqueue(key: string, spec: S): void {
    const entry = this.#entries.get(key);
    this.#entries.set(key, { spec, made: entry?.made ?? 0, left: this.maxAttempts });
    this.#waiting.push(key);
  }

  get size(): number {
    return this.#waiting.length;
  }

  /** Takes the next task, counting an attempt. */
  take(): QueuedTask<S> | undefined {
    const key = this.#waiting.shift();
    if (key === undefined) return undefined;
    const entry = this.#entries.get(key) as Entry<S>;
    const attempt = entry.made;
    entry.made += 1;
    entry.left -= 1;
    return { key, spec: entry.spec, attempt };
  }

  /** Gives a task back after a lost attempt; false when its budget is spent. */
  retry(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.left <= 0) return false;
    this.#waiting.unshift(key);
    return true;
  }

  /** Attempts made so far for `key`. */
  attempts(key: string): number {
    return this.#entries.get(key)?.made ?? 0;
  }

  /** Drops every waiting task (the run is stopping). */
  clear(): void {
    this.#waiting = [];
  }
}
