/**
 * The checkpoints workers download (docs/protocol.md), each asked for by sha256: the
 * state tasks start from now, served from memory, and older stored checkpoints, read
 * (verified) from disk. A request for anything else is refused. The bytes go out in
 * chunks with credit-based flow control (transport/transfers.ts).
 */
import type { MessageOf } from "../schema/wire/messages.js";
import type { Transfers } from "../transport/transfers.js";
import type { StoredCheckpoint } from "./run-dir.js";

export interface CheckpointServerOptions {
  transfers: Transfers;
  /** Reads a stored checkpoint (verified) for a worker that asks for it by sha256. */
  loadCheckpoint: (checkpoint: { file: string; sha256: string }) => Promise<Buffer>;
  /** Answers a request that cannot be served with `reject`. */
  refuse: (to: string, msgId: string, reason: string) => void;
}

export class CheckpointServer {
  readonly #options: CheckpointServerOptions;
  #start: { stored: StoredCheckpoint; bytes: Buffer } | null = null;
  /** Stored checkpoints a worker may ask for, by sha256. */
  readonly #known = new Map<string, string>();

  constructor(options: CheckpointServerOptions) {
    this.#options = options;
  }

  /** sha256 of the state tasks start from now; null before there is one. */
  get startSha256(): string | null {
    return this.#start?.stored.sha256 ?? null;
  }

  /** The state tasks start from now, served from memory. */
  setStart(stored: StoredCheckpoint, bytes: Buffer): void {
    this.#start = { stored, bytes };
    this.remember(stored);
  }

  /** A stored checkpoint workers may ask for by sha256. */
  remember(stored: { file: string; sha256: string }): void {
    this.#known.set(stored.sha256, stored.file);
  }

  /** Checkpoint files that were deleted: no longer served. */
  forget(files: readonly string[]): void {
    for (const [sha, file] of this.#known) if (files.includes(file)) this.#known.delete(sha);
  }

  /** Sends the checkpoint a worker asked for, or refuses the request. */
  serve(workerId: string, message: MessageOf<"checkpointRequest">): void {
    const { refuse } = this.#options;
    const sha = message.sha256;
    if (sha === undefined) {
      refuse(workerId, message.msgId, "checkpointRequest: the controller serves checkpoints by sha256 only");
      return;
    }
    const send = (bytes: Buffer) => {
      const meta = { replyTo: message.msgId, sha256: sha, sizeBytes: bytes.byteLength };
      // Failures are logged by the transfer; the worker fails its task and asks again.
      void this.#options.transfers.send(workerId, { bytes }, meta).done.catch(() => {});
    };
    if (this.#start?.stored.sha256 === sha) {
      send(this.#start.bytes);
      return;
    }
    const file = this.#known.get(sha);
    if (file === undefined) {
      refuse(workerId, message.msgId, `checkpointRequest: no stored checkpoint has sha256 ${sha}`);
      return;
    }
    this.#options.loadCheckpoint({ file, sha256: sha }).then(send, (error: Error) => {
      refuse(workerId, message.msgId, `checkpointRequest: ${error.message}`);
    });
  }
}
