/**
 * Waiting on the state of a run: `until(check)` resolves once `check()` holds, re-checked
 * on every `notify()` (after each message, loss or tick); `fail(error)` rejects every
 * waiter, present and future, so a run that cannot go on stops wherever it waits.
 */
interface Waiter {
  check: () => boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class Waiters {
  #waiting: Waiter[] = [];
  #fatal: Error | null = null;

  get fatal(): Error | null {
    return this.#fatal;
  }

  until(check: () => boolean): Promise<void> {
    if (this.#fatal !== null) return Promise.reject(this.#fatal);
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiting.push({ check, resolve, reject }));
  }

  notify(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const waiter of waiting) {
      if (waiter.check()) waiter.resolve();
      else this.#waiting.push(waiter);
    }
  }

  /** The first failure wins; later ones are ignored. */
  fail(error: Error): void {
    if (this.#fatal !== null) return;
    this.#fatal = error;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const waiter of waiting) waiter.reject(error);
  }
}
