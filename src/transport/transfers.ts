/**
 * Chunked checkpoint transfers with credit-based flow control, both directions, any
 * number of peers at once (docs/protocol.md, "Checkpoint transfer"):
 *
 *   sender   -> checkpoint {sha256, sizeBytes, chunkBytes, transferId}
 *   receiver -> credit {transferId, chunks: window}
 *   sender   -> checkpointChunk {transferId, index, offset} + bytes   (only against credit)
 *   receiver -> credit {transferId, chunks: 1}                          (per chunk written)
 *   either   -> checkpointAbort {transferId, reason}                    (gives up)
 *
 * Chunks and credits are small separate messages, so heartbeats interleave with them. A
 * transfer that makes no progress for `timeoutMs`, or whose peer is dropped, is
 * abandoned: the receiver's temporary file is removed and its promise rejects.
 */
import {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_TRANSFER_TIMEOUT_MS,
  DEFAULT_WINDOW_CHUNKS,
  type MessageOf,
  type MessageType,
  type WireMessage,
} from "../schema/wire/messages.js";
import { ChunkReceiver, type ReceivedFile } from "./chunk-receiver.js";
import { ChunkSender, type ChunkSource } from "./chunk-sender.js";
import { TransportError } from "./errors.js";
import type { Fields } from "./framing.js";


/** Sends one message to `peer`; returns its msgId (RouterEndpoint.send, or a DEALER's). */
export type Post = <T extends MessageType>(peer: string, type: T, fields: Fields<T>, payload?: readonly Uint8Array[]) => string;

export interface TransferOptions {
  /** Prefix of the transfer ids this side makes (its sender id). */
  idPrefix: string;
  post: Post;
  log: (line: string) => void;
  /** Bytes per chunk this side sends (default 4 MiB). */
  chunkBytes?: number;
  /** Chunks this side lets a sender have unacknowledged (default 4). */
  windowChunks?: number;
  /** A transfer with no progress for this long is abandoned (default 60 s). */
  timeoutMs?: number;
}

export interface Outgoing {
  transferId: string;
  /** Resolves once every chunk was handed to the socket; rejects when the transfer is abandoned. */
  done: Promise<void>;
}

interface Entry {
  peer: string;
  transferId: string;
  timer: NodeJS.Timeout;
  fail: (error: Error) => Promise<void>;
}

interface SendEntry extends Entry {
  sender: ChunkSender;
  resolve: () => void;
}

interface ReceiveEntry extends Entry {
  receiver: ChunkReceiver;
}

export class Transfers {
  readonly chunkBytes: number;
  readonly windowChunks: number;
  readonly timeoutMs: number;
  readonly #options: TransferOptions;
  readonly #sends = new Map<string, SendEntry>();
  readonly #receives = new Map<string, ReceiveEntry>();
  #counter = 0;

  constructor(options: TransferOptions) {
    this.#options = options;
    this.chunkBytes = positive(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, "chunkBytes");
    this.windowChunks = positive(options.windowChunks ?? DEFAULT_WINDOW_CHUNKS, "windowChunks");
    this.timeoutMs = positive(options.timeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS, "timeoutMs");
  }

  /** Transfers in progress, each way. */
  get active(): { sending: number; receiving: number } {
    return { sending: this.#sends.size, receiving: this.#receives.size };
  }

  /** Announces a checkpoint to `peer` and sends its chunks as credit comes. */
  send(
    peer: string,
    source: ChunkSource,
    meta: { sha256: string; sizeBytes: number; taskId?: string; replyTo?: string },
  ): Outgoing {
    this.#counter += 1;
    const transferId = `${this.#options.idPrefix}-t${this.#counter}`;
    const key = keyOf(peer, transferId);
    const sender = new ChunkSender(source, meta.sizeBytes, this.chunkBytes, ({ index, offset, bytes }) =>
      this.#options.post(peer, "checkpointChunk", { transferId, index, offset }, [bytes]),
    );
    let resolve: () => void = () => {};
    let reject: (error: Error) => void = () => {};
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => {});
    const entry: SendEntry = {
      peer,
      transferId,
      sender,
      resolve,
      timer: this.#timer(() => this.#abandon(key, `no credit from ${peer} for ${this.timeoutMs} ms`, true)),
      fail: async (error) => {
        reject(error);
        await sender.close();
      },
    };
    this.#sends.set(key, entry);
    const fields: Fields<"checkpoint"> = { sha256: meta.sha256, sizeBytes: meta.sizeBytes, chunkBytes: this.chunkBytes, transferId };
    if (meta.taskId !== undefined) fields.taskId = meta.taskId;
    if (meta.replyTo !== undefined) fields.replyTo = meta.replyTo;
    this.#options.post(peer, "checkpoint", fields);
    return { transferId, done };
  }

  /**
   * Receives the checkpoint `announce` from `peer` into the new file `path`; resolves
   * with the verified file, rejects (the file removed) when the transfer is abandoned.
   */
  receive(peer: string, announce: MessageOf<"checkpoint">, path: string): Promise<ReceivedFile> {
    const { transferId } = announce;
    const key = keyOf(peer, transferId);
    const receiver = new ChunkReceiver(announce, path, (chunks) => this.#options.post(peer, "credit", { transferId, chunks }));
    const entry: ReceiveEntry = {
      peer,
      transferId,
      receiver,
      timer: this.#timer(() => this.#abandon(key, `no chunk from ${peer} for ${this.timeoutMs} ms`, true)),
      fail: (error) => receiver.fail(error),
    };
    const previous = this.#receives.get(key);
    if (previous !== undefined) void this.#abandon(key, `${peer} announced transfer ${transferId} again`, false);
    this.#receives.set(key, entry);
    receiver.finished.then(
      () => this.#forget(this.#receives, key, entry),
      (error: Error) => {
        if (this.#receives.get(key) !== entry) return;
        this.#forget(this.#receives, key, entry);
        this.#options.log(`transfer ${transferId} from ${peer} abandoned: ${error.message}`);
        this.#options.post(peer, "checkpointAbort", { transferId, reason: error.message.slice(0, 4096) });
      },
    );
    void receiver.start(this.windowChunks);
    return receiver.finished;
  }

  /** Takes the transfer messages (chunk, credit, abort); false for any other message. */
  handle(from: string, message: WireMessage, payload: readonly Buffer[]): boolean {
    switch (message.type) {
      case "checkpointChunk": {
        const entry = this.#receives.get(keyOf(from, message.transferId));
        // Chunks still in flight after an abandon (at most a window of them) are dropped.
        if (entry === undefined) return true;
        entry.timer.refresh();
        entry.receiver.accept(message.index, message.offset, payload[0] as Buffer);
        return true;
      }
      case "credit": {
        const key = keyOf(from, message.transferId);
        const entry = this.#sends.get(key);
        if (entry === undefined) return true;
        entry.timer.refresh();
        entry.sender.grant(message.chunks).then(
          () => {
            if (entry.sender.done && this.#forget(this.#sends, key, entry)) entry.resolve();
          },
          (error: Error) => void this.#abandon(key, `cannot read the checkpoint: ${error.message}`, true),
        );
        return true;
      }
      case "checkpointAbort": {
        const key = keyOf(from, message.transferId);
        if (this.#sends.has(key) || this.#receives.has(key)) {
          void this.#abandon(key, `${from} abandoned it: ${message.reason}`, false);
        } else {
          this.#options.log(`${from} abandoned transfer ${message.transferId}: ${message.reason}`);
        }
        return true;
      }
      default:
        return false;
    }
  }

  /** Abandons every transfer with `peer` (it was lost); nothing is sent to it. */
  async dropPeer(peer: string, reason: string): Promise<void> {
    const keys = [...this.#sends.values(), ...this.#receives.values()].filter((e) => e.peer === peer);
    await Promise.all(keys.map((e) => this.#abandon(keyOf(e.peer, e.transferId), reason, false)));
  }

  /** Abandons everything (the endpoint closes). */
  async close(reason = "the endpoint closed"): Promise<void> {
    const entries = [...this.#sends.values(), ...this.#receives.values()];
    await Promise.all(entries.map((e) => this.#abandon(keyOf(e.peer, e.transferId), reason, false)));
  }

  async #abandon(key: string, reason: string, tellPeer: boolean): Promise<void> {
    const entry = this.#sends.get(key) ?? this.#receives.get(key);
    if (entry === undefined) return;
    this.#sends.delete(key);
    this.#receives.delete(key);
    clearTimeout(entry.timer);
    this.#options.log(`transfer ${entry.transferId} with ${entry.peer} abandoned: ${reason}`);
    if (tellPeer) this.#options.post(entry.peer, "checkpointAbort", { transferId: entry.transferId, reason: reason.slice(0, 4096) });
    await entry.fail(new TransportError(`transfer ${entry.transferId} with ${entry.peer} abandoned: ${reason}`, { field: "transferId" }));
  }

  #forget<E extends Entry>(map: Map<string, E>, key: string, entry: E): boolean {
    if (map.get(key) !== entry) return false;
    map.delete(key);
    clearTimeout(entry.timer);
    return true;
  }

  #timer(onTimeout: () => Promise<void>): NodeJS.Timeout {
    const timer = setTimeout(() => void onTimeout(), this.timeoutMs);
    timer.unref();
    return timer;
  }
}

function keyOf(peer: string, transferId: string): string {
  return `${peer}\u0000${transferId}`;
}

function positive(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TransportError(`${field}: expected a positive integer, got ${value}`, { field });
  }
  return value;
}
