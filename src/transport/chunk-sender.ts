/**
 * The sending half of a chunked checkpoint transfer (docs/protocol.md, "Checkpoint
 * transfer"): after the `checkpoint` announcement, chunk `i` covers bytes
 * `[i * chunkBytes, min((i + 1) * chunkBytes, sizeBytes))` and is sent only against
 * credit the receiver granted, so at most `window` chunks are ever unacknowledged and
 * the sender holds at most one chunk it read from a file.
 */
import { type FileHandle, open } from "node:fs/promises";
import { TransportError } from "./errors.js";

/** Where the bytes come from: a buffer already in memory, or a file read chunk by chunk. */
export type ChunkSource = { bytes: Uint8Array } | { path: string };

/** Hands one chunk to the socket (a `checkpointChunk` message); returns its msgId. */
export type ChunkPost = (chunk: { index: number; offset: number; bytes: Uint8Array }) => string;

export function chunkCount(sizeBytes: number, chunkBytes: number): number {
  return Math.ceil(sizeBytes / chunkBytes);
}

export class ChunkSender {
  readonly sizeBytes: number;
  readonly chunkBytes: number;
  readonly chunks: number;
  readonly #source: ChunkSource;
  readonly #post: ChunkPost;
  #file: FileHandle | null = null;
  #next = 0;
  #credit = 0;
  #pumping: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(source: ChunkSource, sizeBytes: number, chunkBytes: number, post: ChunkPost) {
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1) {
      throw new TransportError(`chunkBytes: expected a positive integer, got ${chunkBytes}`, { field: "chunkBytes" });
    }
    this.#source = source;
    this.sizeBytes = sizeBytes;
    this.chunkBytes = chunkBytes;
    this.chunks = chunkCount(sizeBytes, chunkBytes);
    this.#post = post;
  }

  /** Chunks handed to the socket so far. */
  get sent(): number {
    return this.#next;
  }

  get done(): boolean {
    return this.#next >= this.chunks;
  }

  /**
   * The receiver allows `chunks` more. Chunks go out in order; resolves once those the
   * credit allows were handed over (the file reads are serialized).
   */
  grant(chunks: number): Promise<void> {
    this.#credit += chunks;
    this.#pumping = this.#pumping.then(() => this.#pump());
    return this.#pumping;
  }

  /** Releases the file, if one is open; nothing more is sent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#pumping.catch(() => {});
    await this.#file?.close();
    this.#file = null;
  }

  async #pump(): Promise<void> {
    while (this.#credit > 0 && this.#next < this.chunks && !this.#closed) {
      const index = this.#next;
      const offset = index * this.chunkBytes;
      const length = Math.min(this.chunkBytes, this.sizeBytes - offset);
      const bytes = await this.#read(offset, length);
      if (this.#closed) return;
      this.#post({ index, offset, bytes });
      this.#next += 1;
      this.#credit -= 1;
    }
    if (this.done) await this.#file?.close();
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
    if ("bytes" in this.#source) return this.#source.bytes.subarray(offset, offset + length);
    this.#file ??= await open(this.#source.path, "r");
    // A fresh buffer per chunk: the socket may still hold the previous one.
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.#file.read(buffer, 0, length, offset);
    if (bytesRead !== length) {
      throw new TransportError(`${this.#source.path}: expected ${length} bytes at offset ${offset}, read ${bytesRead}`, {
        field: "sizeBytes",
      });
    }
    return buffer;
  }
}
