/**
 * The controller's side of an upload (docs/protocol.md): it asks one worker for a trained
 * state (`initRequest` for w_0, `checkpointRequest` for a kept result), receives the
 * announced `checkpoint` in chunks (transport/transfers.ts) and hands back the bytes once
 * their sha256 matched; controller.ts stores them as the next checkpoint.
 *
 * One upload is pending at a time. It is written to a temporary file under `receiveDir` as
 * it arrives; a transfer cut short (its worker lost, a timeout, a bad chunk) leaves no file
 * behind and counts as a bad upload: the worker is asked again, and after MAX_BAD_UPLOADS
 * it is given up on. A full or read-only disk of the controller's own fails the run
 * instead: not the worker's fault. Which worker is lost, and what that means for its
 * task, is worker-hub.ts's business; this file only tells it.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageOf } from "../schema/wire/messages.js";
import type { Rejection, RouterEndpoint } from "../transport/router.js";
import type { Transfers } from "../transport/transfers.js";
import type { Holder } from "./epoch-run.js";
import { RunError } from "./errors.js";
import type { EventStream } from "./events.js";
import type { WorkerPool, WorkerState } from "./worker-pool.js";

/** File-system errors of the controller's own disk while an upload is written. */
const LOCAL_WRITE_ERRORS = new Set(["ENOSPC", "EROFS", "EDQUOT", "EACCES", "EPERM", "EIO", "EMFILE", "ENFILE"]);

/** Invalid checkpoints a worker may send for one request before it is given up on. */
const MAX_BAD_UPLOADS = 3;

export interface Upload {
  bytes: Buffer;
  sha256: string;
  workerId: string;
}

/** What is asked of whom: the state after `taskId`, or (taskId null) w_0 built from `seed`. */
interface UploadRequest {
  workerId: string;
  /** The task whose state is uploaded; null for the initial state. */
  taskId: string | null;
  seed: number;
}

interface PendingUpload extends UploadRequest {
  /** The request the upload answers; a new one after each bad upload. */
  msgId: string;
  bad: number;
  lost: boolean;
  /** The transfer of the upload in progress, if one was announced. */
  transferId: string | null;
  received: { bytes: Buffer; sha256: string } | null;
}

/** What the exchange needs of the hub around it. */
export interface UploadExchangeOptions {
  router: RouterEndpoint;
  transfers: Transfers;
  /** The hub's workers: who is idle, who is alive, and which start state each holds. */
  pool: WorkerPool;
  events: EventStream;
  log: (line: string) => void;
  /** Where uploads are written while they arrive; default a fresh temporary directory, removed at close. */
  receiveDir?: string;
  /** Resolves once `check()` holds, re-checked after every change; rejects when the run fails. */
  until: (check: () => boolean) => Promise<void>;
  /** Something changed: waits are re-checked. */
  notify: () => void;
  /** Gives a worker up (it is then reported back through `workerLost`). */
  lose: (workerId: string, reason: string) => void;
  /** Fails the run. */
  fail: (error: Error) => void;
}

export class UploadExchange {
  readonly #options: UploadExchangeOptions;
  #pending: PendingUpload | null = null;
  #receiveDir: Promise<string> | null = null;

  constructor(options: UploadExchangeOptions) {
    this.#options = options;
  }

  /** Has an idle worker build w_0 from `seed` and upload it; null when that worker was lost meanwhile. */
  async requestInitialState(seed: number): Promise<Upload | null> {
    const { pool, events } = this.#options;
    await this.#options.until(() => pool.idle().length > 0);
    const worker = pool.idle()[0] as WorkerState;
    const request: UploadRequest = { workerId: worker.id, taskId: null, seed };
    const msgId = this.#ask(request);
    worker.busy = { kind: "init", msgId };
    events.emit({ type: "init-request", workerId: worker.id, seed });
    const upload = await this.#await(request, msgId);
    if (upload !== null) worker.busy = null;
    return upload;
  }

  /** Asks the holder of a kept result to upload it; null when it is gone or lost meanwhile. */
  async requestUpload(holder: Holder): Promise<Upload | null> {
    if (this.#options.pool.get(holder.workerId) === undefined) return null;
    const request: UploadRequest = { workerId: holder.workerId, taskId: holder.taskId, seed: 0 };
    return this.#await(request, this.#ask(request));
  }

  /** Whether `msgId` is the request of the pending upload (a worker that rejects it is lost). */
  isRequest(msgId: string): boolean {
    return this.#pending?.msgId === msgId;
  }

  /** A worker announced a checkpoint: received when it answers the pending request, else aborted. */
  onCheckpoint(workerId: string, message: MessageOf<"checkpoint">): void {
    const pending = this.#pending;
    const answers =
      pending !== null &&
      pending.workerId === workerId &&
      pending.received === null &&
      (message.replyTo === pending.msgId || (pending.taskId !== null && message.taskId === pending.taskId));
    if (!answers) {
      this.#options.log(`ignored checkpoint ${message.msgId} from ${workerId}: nothing of it was asked for`);
      this.#options.router.send(workerId, "checkpointAbort", { transferId: message.transferId, reason: "not asked for" });
      return;
    }
    pending.transferId = message.transferId;
    void this.#receive(pending, message);
  }

  /** The transport refused a message; a pending upload from that worker is asked for again. */
  onReject(rejection: Rejection): void {
    const pending = this.#pending;
    if (pending === null || pending.workerId !== rejection.from || pending.received !== null) return;
    this.#badUpload(pending, rejection.reason);
  }

  /** A worker is gone: an upload pending from it will not come. */
  workerLost(workerId: string): void {
    if (this.#pending?.workerId === workerId) this.#pending.lost = true;
  }

  /** Removes the temporary directory, if the exchange made one. */
  async close(): Promise<void> {
    if (this.#options.receiveDir === undefined && this.#receiveDir !== null) {
      await rm(await this.#receiveDir, { recursive: true, force: true });
    }
  }

  /** Sends the request for an upload; returns its msgId. */
  #ask({ workerId, taskId, seed }: UploadRequest): string {
    const { router } = this.#options;
    return taskId === null
      ? router.send(workerId, "initRequest", { seed })
      : router.send(workerId, "checkpointRequest", { taskId });
  }

  async #await(request: UploadRequest, msgId: string): Promise<Upload | null> {
    const pending: PendingUpload = { ...request, msgId, bad: 0, lost: false, transferId: null, received: null };
    this.#pending = pending;
    try {
      await this.#options.until(() => pending.received !== null || pending.lost);
    } finally {
      this.#pending = null;
    }
    if (pending.received === null) return null;
    // After an upload the worker holds that state as a start state (docs/protocol.md).
    const worker = this.#options.pool.get(pending.workerId);
    if (worker !== undefined) worker.holdsStart = pending.received.sha256;
    return { ...pending.received, workerId: pending.workerId };
  }

  async #receive(pending: PendingUpload, announce: MessageOf<"checkpoint">): Promise<void> {
    const { workerId } = pending;
    const current = () => this.#pending === pending && pending.transferId === announce.transferId && !pending.lost;
    try {
      const dir = await this.#transferDir();
      const file = await this.#options.transfers.receive(workerId, announce, join(dir, `${workerId}.${announce.transferId}.part`));
      try {
        // controller.ts keeps the winner in memory (it serves it as w_t); the transfer itself held one window.
        if (current()) pending.received = { bytes: await readFile(file.path), sha256: file.sha256 };
      } finally {
        await rm(file.path, { force: true });
      }
    } catch (error) {
      // The run directory refused the bytes (a full or read-only disk): not the worker's fault.
      const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (error as NodeJS.ErrnoException).code;
      if (code !== undefined && LOCAL_WRITE_ERRORS.has(code)) {
        this.#options.fail(new RunError(`cannot store the upload from ${workerId}: ${(error as Error).message}`, { cause: error }));
      } else if (current()) this.#badUpload(pending, (error as Error).message);
    }
    this.#options.notify();
  }

  #transferDir(): Promise<string> {
    const given = this.#options.receiveDir;
    this.#receiveDir ??=
      given === undefined
        ? mkdtemp(join(tmpdir(), "amlfs-transfers-"))
        : mkdir(given, { recursive: true }).then(() => given);
    return this.#receiveDir;
  }

  /** An upload failed (an invalid message, a transfer abandoned): ask again, or give the worker up. */
  #badUpload(pending: PendingUpload, reason: string): void {
    pending.bad += 1;
    pending.transferId = null;
    if (pending.bad >= MAX_BAD_UPLOADS) {
      this.#options.lose(pending.workerId, `${pending.bad} failed attempts at uploading a checkpoint (last: ${reason})`);
      return;
    }
    pending.msgId = this.#ask(pending);
  }
}
