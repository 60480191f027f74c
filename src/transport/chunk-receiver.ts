/**
 * The receiving half of a chunked checkpoint transfer (docs/protocol.md, "Checkpoint
 * transfer"). Chunks are written in order to a temporary file, hashed as they come, and
 * each one written is acknowledged with one chunk of credit, so memory stays
 * O(window * chunkBytes) whatever the file size. The file is handed over only when
 * every byte arrived and the sha256 of the whole matches the announced one; on any
 * failure it is removed, so a partial file is never used.
 */
import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open, rm } from "node:fs/promises";
import { chunkCount } from "./chunk-sender.js";
import { TransportError } from "./errors.js";

export interface Announced {
  sha256: string;
  sizeBytes: number;
  chunkBytes: number;
}

export interface ReceivedFile {
  /** The complete, verified file (the caller renames or reads it, then owns it). */
  path: string;
  sha256: string;
  sizeBytes: number;
}

export class ChunkReceiver {
  readonly path: string;
  readonly chunks: number;
  readonly #announced: Announced;
  readonly #grant: (chunks: number) => void;
  readonly #hash: Hash = createHash("sha256");
  readonly finished: Promise<ReceivedFile>;
  #resolve: (file: ReceivedFile) => void = () => {};
  #reject: (error: Error) => void = () => {};
  #file: FileHandle | null = null;
  #writes: Promise<void> = Promise.resolve();
  #accepted = 0;
  #written = 0;
  #credited = 0;
  #settled = false;

  /** `grant(n)` sends `credit {chunks: n}` to the sender. */
  constructor(announced: Announced, path: string, grant: (chunks: number) => void) {
    this.#announced = announced;
    this.path = path;
    this.chunks = chunkCount(announced.sizeBytes, announced.chunkBytes);
    this.#grant = grant;
    this.finished = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.finished.catch(() => {}); // observed by the caller; never an unhandled rejection
  }

  /** Creates the file and grants the first `window` chunks. */
  async start(window: number): Promise<void> {
    let file: FileHandle;
    try {
      file = await open(this.path, "wx", 0o600);
    } catch (error) {
      await this.fail(new TransportError(`cannot create ${this.path}: ${(error as Error).message}`, { cause: error }));
      return;
    }
    if (this.#settled) {
      // Abandoned while the file was being created: leave nothing behind.
      await file.close();
      await rm(this.path, { force: true });
      return;
    }
    this.#file = file;
    this.#credit(Math.min(window, this.chunks));
  }

  /** Takes chunk `index` (its bytes are written before the next chunk's). */
  accept(index: number, offset: number, bytes: Uint8Array): void {
    if (this.#settled) return;
    const { chunkBytes, sizeBytes } = this.#announced;
    const problem =
      index !== this.#accepted
        ? `index: expected chunk ${this.#accepted} next, got ${index}`
        : index >= this.#credited
          ? `index: chunk ${index} is beyond the ${this.#credited} chunks of credit granted`
          : offset !== index * chunkBytes
            ? `offset: chunk ${index} starts at ${index * chunkBytes}, got ${offset}`
            : bytes.byteLength !== Math.min(chunkBytes, sizeBytes - offset)
              ? `payload: chunk ${index} has ${Math.min(chunkBytes, sizeBytes - offset)} bytes, got ${bytes.byteLength}`
              : null;
    if (problem !== null) {
      void this.fail(new TransportError(problem, { field: problem.slice(0, problem.indexOf(":")) }));
      return;
    }
    this.#accepted += 1;
    this.#writes = this.#writes.then(() => this.#write(index, offset, bytes));
  }

  /** Abandons the transfer: the file is removed, then `finished` rejects with `error`. */
  fail(error: Error): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    return this.#writes.catch(() => {}).then(() => this.#discard(error));
  }

  /** Removes the file (no write is running any more) and rejects `finished`. */
  async #discard(error: Error): Promise<void> {
    await this.#file?.close().catch(() => {});
    this.#file = null;
    await rm(this.path, { force: true }).catch(() => {});
    this.#reject(error);
  }

  async #write(index: number, offset: number, bytes: Uint8Array): Promise<void> {
    if (this.#settled || this.#file === null) return;
    try {
      await this.#file.write(bytes, 0, bytes.byteLength, offset);
    } catch (error) {
      this.#settled = true;
      await this.#discard(new TransportError(`cannot write ${this.path}: ${(error as Error).message}`, { cause: error }));
      return;
    }
    this.#hash.update(bytes);
    this.#written += 1;
    if (this.#written < this.chunks) {
      // One chunk written, one more may come: in flight never exceeds the window.
      if (this.#credited < this.chunks) this.#credit(1);
      return;
    }
    await this.#finish(index);
  }

  async #finish(last: number): Promise<void> {
    const actual = this.#hash.digest("hex");
    if (actual !== this.#announced.sha256) {
      const reason = `sha256: announced ${this.#announced.sha256}, the ${last + 1} chunks hash to ${actual}`;
      // Inside the write chain: discard directly (fail() would wait for this very write).
      this.#settled = true;
      await this.#discard(new TransportError(reason, { field: "sha256" }));
      return;
    }
    await this.#file?.close();
    this.#file = null;
    this.#settled = true;
    this.#resolve({ path: this.path, sha256: actual, sizeBytes: this.#announced.sizeBytes });
  }

  #credit(chunks: number): void {
    if (chunks <= 0) return;
    this.#credited += chunks;
    this.#grant(chunks);
  }
}
