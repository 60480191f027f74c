/**
 * The controller's side of the wire protocol (docs/protocol.md): workers say hello and
 * are welcomed, get tasks one at a time from the queue, report progress and results,
 * download start states and upload trained ones; heartbeats go both ways, and a worker
 * that is silent past heartbeatTimeoutMs, whose process exits, or that refuses what it
 * was asked is lost: its task goes back to the queue (or fails) and the launcher starts
 * a replacement. A worker that cannot run the experiment's config or data (it sends
 * `fatal {kind: "config"}`, or its process exits with status 2) is not lost: the run
 * fails at once with a config error, and no replacement is started (retries are for lost
 * workers). What the tasks are, and what their results mean, is the business of each
 * task's owner (controller.ts); this file only moves them.
 *
 * Checkpoints move in chunks with credit-based flow control (transport/transfers.ts):
 * an upload is written to a temporary file under `receiveDir` as it arrives, and used
 * only after its sha256 matched; a transfer cut short (its worker lost, a timeout, a
 * bad chunk) leaves no file behind and counts as a bad upload.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Launcher, WorkerExit } from "../launch/launcher.js";
import type { Experiment } from "../schema/index.js";
import { tauForm } from "../search/index.js";
import type { MessageOf } from "../schema/wire/messages.js";
import type { Received, Rejection, RouterEndpoint } from "../transport/router.js";
import { Transfers } from "../transport/transfers.js";
import type { Holder, TaskSpec } from "./epoch-run.js";
import { RunError } from "./errors.js";
import type { EventStream } from "./events.js";
import type { StoredCheckpoint } from "./run-dir.js";
import { TaskQueue } from "./task-queue.js";
import { Waiters } from "./waiters.js";
import { type WorkerState, WorkerPool } from "./worker-pool.js";

/** File-system errors of the controller's own disk while an upload is written. */
const LOCAL_WRITE_ERRORS = new Set(["ENOSPC", "EROFS", "EDQUOT", "EACCES", "EPERM", "EIO", "EMFILE", "ENFILE"]);

/** Invalid checkpoints a worker may send for one request before it is given up on. */
const MAX_BAD_UPLOADS = 3;

/** The exit status of a worker that cannot run the experiment's config or data (docs/plug-in.md). */
export const WORKER_EXIT_CONFIG = 2;

/** Who a queued task belongs to: its spec, its ids, and what to do with its outcome. */
export interface TaskOwner {
  spec: TaskSpec;
  taskId(attempt: number): string;
  /** The `keep` answer and what the result means, for the event. */
  onResult(workerId: string, message: MessageOf<"result">): { keep: boolean; finished: boolean; reason: string | null };
  /** The task's worker was lost; the owner decides (hub.retry) whether it runs again. */
  onLost(workerId: string, taskId: string, reason: string): void;
}

export interface Upload {
  bytes: Buffer;
  sha256: string;
  workerId: string;
}

interface PendingUpload {
  msgId: string;
  workerId: string;
  /** The task whose state is uploaded; null for the initial state. */
  taskId: string | null;
  seed: number;
  bad: number;
  lost: boolean;
  /** The transfer of the upload in progress, if one was announced. */
  transferId: string | null;
  received: { bytes: Buffer; sha256: string } | null;
}

export interface WorkerHubOptions {
  config: Experiment;
  router: RouterEndpoint;
  launcher: Launcher | null;
  events: EventStream;
  log: (line: string) => void;
  heartbeatIntervalMs: number;
  maxTaskAttempts: number;
  stopGraceMs: number;
  /** Reads a stored checkpoint (verified) for a worker that asks for it by sha256. */
  loadCheckpoint: (checkpoint: { file: string; sha256: string }) => Promise<Buffer>;
  /**
   * Where uploads are written while they arrive (RunDir.transferDir); default a fresh
   * temporary directory, removed at stop.
   */
  receiveDir?: string;
  /** Chunk size, window and stall timeout of checkpoint transfers (transport/transfers.ts defaults). */
  transfer?: { chunkBytes?: number; windowChunks?: number; timeoutMs?: number };
  /** With a CURVE socket: the key file of a new worker, for the launcher (LaunchContext.curveKeysFor). */
  curveKeysFor?: (workerId: string) => string;
}

export class WorkerHub {
  readonly #options: WorkerHubOptions;
  readonly #router: RouterEndpoint;
  readonly #launcher: Launcher | null;
  readonly #events: EventStream;
  readonly #log: (line: string) => void;
  readonly #heartbeatTimeoutMs: number;
  readonly #pool = new WorkerPool();
  readonly #queue: TaskQueue<TaskSpec>;
  readonly #owners = new Map<string, TaskOwner>();
  readonly #waiters = new Waiters();
  /** Stored checkpoints a worker may ask for, by sha256. */
  readonly #known = new Map<string, string>();
  readonly #goneListeners: ((workerId: string) => void)[] = [];
  #start: { stored: StoredCheckpoint; bytes: Buffer } | null = null;
  #upload: PendingUpload | null = null;
  readonly #transfers: Transfers;
  #receiveDir: Promise<string> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopping = false;

  constructor(options: WorkerHubOptions) {
    this.#options = options;
    this.#router = options.router;
    this.#launcher = options.launcher;
    this.#events = options.events;
    this.#log = options.log;
    this.#heartbeatTimeoutMs = options.config.workers.heartbeatTimeoutMs;
    this.#queue = new TaskQueue(options.maxTaskAttempts);
    this.#transfers = new Transfers({
      ...options.transfer,
      idPrefix: "controller",
      post: (peer, type, fields, payload) => this.#router.send(peer, type, fields, payload),
      log: options.log,
    });
  }

  /** Checkpoint transfers in progress, each way (for tests and logs). */
  get transfers(): { sending: number; receiving: number } {
    return this.#transfers.active;
  }

  get maxAttempts(): number {
    return this.#queue.maxAttempts;
  }

  get fatal(): Error | null {
    return this.#waiters.fatal;
  }

  /** Stopping, or failed: no more tasks, losses or replacements. */
  get #ended(): boolean {
    return this.#stopping || this.#waiters.fatal !== null;
  }

  /** Listens to messages and exits, starts heartbeats and the workers. */
  async start(): Promise<void> {
    this.#router.onMessage((received) => this.#onMessage(received));
    this.#router.onReject((rejection) => this.#onReject(rejection));
    this.#launcher?.onExit((exit) => this.#onExit(exit));
    this.#timer = setInterval(() => this.#tick(), this.#options.heartbeatIntervalMs);
    const curve = this.#options.curveKeysFor;
    await this.#launcher?.start({ endpoint: this.#router.endpoint, runId: this.#router.runId, ...(curve ? { curveKeysFor: curve } : {}) });
    if (this.#waiters.fatal !== null) throw this.#waiters.fatal;
  }

  /** Tells every worker to exit, then has the launcher make sure they did. */
  async stop(reason: string): Promise<void> {
    this.#stopping = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#queue.clear();
    for (const worker of this.#pool.all()) this.#router.send(worker.id, "shutdown", { reason });
    await this.#transfers.close(`the run stops: ${reason}`);
    // Bounded: with no worker connected at all (the last one just exited), the socket is not
    // writable and a send queued meanwhile (a heartbeat) waits for a peer that never comes.
    await within(this.#router.flushed(), this.#options.stopGraceMs);
    await this.#launcher?.stopAll(this.#options.stopGraceMs);
    if (this.#options.receiveDir === undefined && this.#receiveDir !== null) {
      await rm(await this.#receiveDir, { recursive: true, force: true });
    }
  }

  /** Stops every wait with `error` (a signal, or no worker left). */
  fail(error: Error): void {
    this.#waiters.fail(error);
  }

  /** Resolves once `check()` holds (re-checked after every change); rejects when the run fails. */
  until(check: () => boolean): Promise<void> {
    this.#dispatch();
    return this.#waiters.until(check);
  }

  onWorkerGone(listener: (workerId: string) => void): void {
    this.#goneListeners.push(listener);
  }

  /** The state tasks start from now, served from memory to workers that ask for it. */
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

  enqueue(key: string, owner: TaskOwner): void {
    this.#owners.set(key, owner);
    this.#queue.enqueue(key, owner.spec);
    this.#notify();
  }

  /** Queues a lost task again; false when its attempts are spent. */
  retry(key: string): boolean {
    return this.#queue.retry(key);
  }

  forgetOwner(key: string): void {
    this.#owners.delete(key);
  }

  isAlive(workerId: string): boolean {
    return this.#pool.get(workerId) !== undefined;
  }

  /** Releases a kept result that was beaten (`keep {keep: false}`), if its worker is still there. */
  release(holder: Holder): void {
    if (this.isAlive(holder.workerId)) this.#router.send(holder.workerId, "keep", { taskId: holder.taskId, keep: false });
  }

  /** Has an idle worker build w_0 from `seed` and upload it; null when that worker was lost meanwhile. */
  async requestInitialState(seed: number): Promise<Upload | null> {
    await this.until(() => this.#pool.idle().length > 0);
    const worker = this.#pool.idle()[0] as WorkerState;
    const msgId = this.#router.send(worker.id, "initRequest", { seed });
    worker.busy = { kind: "init", msgId };
    this.#events.emit({ type: "init-request", workerId: worker.id, seed });
    const upload = await this.#awaitUpload({ msgId, workerId: worker.id, taskId: null, seed });
    if (upload !== null) worker.busy = null;
    return upload;
  }

  /** Asks the holder of a kept result to upload it; null when it is gone or lost meanwhile. */
  async requestUpload(holder: Holder): Promise<Upload | null> {
    if (!this.isAlive(holder.workerId)) return null;
    const msgId = this.#router.send(holder.workerId, "checkpointRequest", { taskId: holder.taskId });
    return this.#awaitUpload({ msgId, workerId: holder.workerId, taskId: holder.taskId, seed: 0 });
  }

  async #awaitUpload(request: Omit<PendingUpload, "bad" | "lost" | "transferId" | "received">): Promise<Upload | null> {
    const pending: PendingUpload = { ...request, bad: 0, lost: false, transferId: null, received: null };
    this.#upload = pending;
    try {
      await this.until(() => pending.received !== null || pending.lost);
    } finally {
      this.#upload = null;
    }
    if (pending.received === null) return null;
    // After an upload the worker holds that state as a start state (docs/protocol.md).
    const worker = this.#pool.get(pending.workerId);
    if (worker !== undefined) worker.holdsStart = pending.received.sha256;
    return { ...pending.received, workerId: pending.workerId };
  }

  // ---- tasks -------------------------------------------------------------------------

  /** Gives queued tasks to idle workers, those already holding the start state first. */
  #dispatch(): void {
    while (this.#queue.size > 0 && !this.#ended) {
      const worker = this.#pool.idle(this.#start?.stored.sha256 ?? null)[0];
      if (worker === undefined) return;
      const queued = this.#queue.take();
      if (queued === undefined) return;
      const owner = this.#owners.get(queued.key) as TaskOwner;
      const taskId = owner.taskId(queued.attempt);
      const { spec } = owner;
      const { M, tScaleGrad, space } = this.#options.config.search;
      const msgId = this.#router.send(worker.id, "task", { taskId, ...spec, M, tScaleGrad, tauForm: tauForm(space) });
      worker.busy = { kind: "task", key: queued.key, taskId, attempt: queued.attempt, msgId, startedMs: Date.now() };
      const { kind, epoch, sample } = spec;
      this.#events.emit({ type: "task-start", taskId, workerId: worker.id, kind, epoch, sample, attempt: queued.attempt });
    }
  }

  #notify(): void {
    this.#dispatch();
    this.#waiters.notify();
  }

  // ---- messages ----------------------------------------------------------------------

  #onMessage({ from, message, payload }: Received): void {
    // Stopping: workers were told to exit; answering them now (a checkpoint to a worker
    // closing its socket) could leave a send pending on a peer that is going away. Failed:
    // nothing a worker says can change the outcome, and the stop is on its way.
    if (this.#ended) return;
    if (this.#pool.isLost(from)) {
      this.#log(`ignored ${message.type} ${message.msgId} from ${from}: the worker was declared lost; telling it to exit`);
      this.#router.send(from, "shutdown", { reason: "this worker was declared lost; a replacement runs instead" });
      return;
    }
    if (message.type === "hello") {
      this.#onHello(message);
      this.#notify();
      return;
    }
    const worker = this.#pool.get(from);
    if (worker === undefined) {
      this.#refuse(from, message.msgId, `a ${message.type} before hello: say hello first`);
      return;
    }
    worker.lastSeenMs = Date.now();
    if (this.#transfers.handle(from, message, payload)) return;
    switch (message.type) {
      case "heartbeat":
        break;
      case "progress":
        if (worker.busy?.kind === "task" && worker.busy.taskId === message.taskId) {
          const { taskId, step, steps, loss, samplesPerSec } = message;
          this.#events.emit({ type: "task-progress", taskId, workerId: from, step, steps, loss, samplesPerSec });
        }
        break;
      case "result":
        this.#onResult(worker, message);
        break;
      case "checkpointRequest":
        this.#serveCheckpoint(worker, message);
        break;
      case "checkpoint":
        this.#onCheckpoint(worker, message);
        break;
      case "reject":
        this.#onWorkerReject(worker, message);
        break;
      case "fatal":
        this.#configError(worker.id, message.reason, null);
        break;
      default:
        this.#refuse(from, message.msgId, `type ${message.type}: only the controller sends it`);
    }
    this.#notify();
  }

  #onHello(hello: MessageOf<"hello">): void {
    const id = hello.sender;
    if (this.#pool.get(id) !== undefined) this.#lose(id, "it said hello again (restarted)", { replace: false });
    this.#pool.add(hello, Date.now());
    this.#router.send(id, "welcome", {
      replyTo: hello.msgId,
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.#heartbeatTimeoutMs,
      experiment: this.#options.config as unknown as Record<string, unknown>,
    });
    const { pid, host, device, threads, adapter } = hello;
    this.#events.emit({ type: "worker-up", workerId: id, pid, host, device, threads, adapter });
  }

  #onResult(worker: WorkerState, message: MessageOf<"result">): void {
    const busy = worker.busy;
    if (busy?.kind !== "task" || busy.taskId !== message.taskId) {
      this.#refuse(worker.id, message.msgId, `a result for ${message.taskId}, which is not the task it runs`);
      return;
    }
    worker.busy = null;
    const owner = this.#owners.get(busy.key) as TaskOwner;
    worker.holdsStart = owner.spec.start;
    const outcome = owner.onResult(worker.id, message);
    this.#router.send(worker.id, "keep", { replyTo: message.msgId, taskId: message.taskId, keep: outcome.keep });
    const { kind, epoch, sample } = owner.spec;
    const { taskId, reward } = message;
    const { finished: ok, reason, keep } = outcome;
    const lossStats = message.lossStats ?? null;
    this.#events.emit({ type: "task-result", taskId, workerId: worker.id, kind, epoch, sample, ok, reward, reason, keep, lossStats });
  }

  #serveCheckpoint(worker: WorkerState, message: MessageOf<"checkpointRequest">): void {
    const sha = message.sha256;
    if (sha === undefined) {
      this.#refuse(worker.id, message.msgId, "checkpointRequest: the controller serves checkpoints by sha256 only");
      return;
    }
    const send = (bytes: Buffer) => {
      const meta = { replyTo: message.msgId, sha256: sha, sizeBytes: bytes.byteLength };
      // Failures are logged by the transfer; the worker fails its task and asks again.
      void this.#transfers.send(worker.id, { bytes }, meta).done.catch(() => {});
    };
    if (this.#start?.stored.sha256 === sha) {
      send(this.#start.bytes);
      return;
    }
    const file = this.#known.get(sha);
    if (file === undefined) {
      this.#refuse(worker.id, message.msgId, `checkpointRequest: no stored checkpoint has sha256 ${sha}`);
      return;
    }
    this.#options.loadCheckpoint({ file, sha256: sha }).then(send, (error: Error) => {
      this.#refuse(worker.id, message.msgId, `checkpointRequest: ${error.message}`);
    });
  }

  #onCheckpoint(worker: WorkerState, message: MessageOf<"checkpoint">): void {
    const pending = this.#upload;
    const answers =
      pending !== null &&
      pending.workerId === worker.id &&
      pending.received === null &&
      (message.replyTo === pending.msgId || (pending.taskId !== null && message.taskId === pending.taskId));
    if (!answers) {
      this.#log(`ignored checkpoint ${message.msgId} from ${worker.id}: nothing of it was asked for`);
      this.#router.send(worker.id, "checkpointAbort", { transferId: message.transferId, reason: "not asked for" });
      return;
    }
    pending.transferId = message.transferId;
    void this.#receiveUpload(pending, message);
  }

  async #receiveUpload(pending: PendingUpload, announce: MessageOf<"checkpoint">): Promise<void> {
    const { workerId } = pending;
    const current = () => this.#upload === pending && pending.transferId === announce.transferId && !pending.lost;
    try {
      const dir = await this.#transferDir();
      const file = await this.#transfers.receive(workerId, announce, join(dir, `${workerId}.${announce.transferId}.part`));
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
        this.fail(new RunError(`cannot store the upload from ${workerId}: ${(error as Error).message}`, { cause: error }));
      } else if (current()) this.#badUpload(workerId, (error as Error).message);
    }
    this.#notify();
  }

  #transferDir(): Promise<string> {
    const given = this.#options.receiveDir;
    this.#receiveDir ??=
      given === undefined
        ? mkdtemp(join(tmpdir(), "amlfs-transfers-"))
        : mkdir(given, { recursive: true }).then(() => given);
    return this.#receiveDir;
  }

  /** A worker refused something it was asked to do: it cannot be relied on any more. */
  #onWorkerReject(worker: WorkerState, message: MessageOf<"reject">): void {
    const rejected = message.rejectedMsgId;
    this.#log(`worker ${worker.id} rejected ${rejected ?? "a message"}: ${message.reason}`);
    const asked = rejected !== null && (worker.busy?.msgId === rejected || this.#upload?.msgId === rejected);
    if (asked) this.#lose(worker.id, `it rejected ${rejected}: ${message.reason}`);
  }

  /** The transport refused a message; a pending upload from that worker is asked for again. */
  #onReject(rejection: Rejection): void {
    const pending = this.#upload;
    if (pending === null || pending.workerId !== rejection.from || pending.received !== null) return;
    this.#badUpload(rejection.from, rejection.reason);
  }

  /** An upload failed (an invalid message, a transfer abandoned): ask again, or give the worker up. */
  #badUpload(workerId: string, reason: string): void {
    const pending = this.#upload as PendingUpload;
    pending.bad += 1;
    pending.transferId = null;
    if (pending.bad >= MAX_BAD_UPLOADS) {
      this.#lose(workerId, `${pending.bad} failed attempts at uploading a checkpoint (last: ${reason})`);
      return;
    }
    pending.msgId =
      pending.taskId === null
        ? this.#router.send(workerId, "initRequest", { seed: pending.seed })
        : this.#router.send(workerId, "checkpointRequest", { taskId: pending.taskId });
  }

  #refuse(to: string, msgId: string, reason: string): void {
    this.#log(`refused ${msgId} from ${to}: ${reason}`);
    this.#router.send(to, "reject", { reason, rejectedMsgId: msgId });
  }

  // ---- liveness ----------------------------------------------------------------------

  #tick(): void {
    if (this.#ended) return;
    const now = Date.now();
    for (const worker of this.#pool.all()) this.#router.send(worker.id, "heartbeat", {});
    for (const worker of this.#pool.silent(now, this.#heartbeatTimeoutMs)) {
      this.#lose(worker.id, `silent for ${now - worker.lastSeenMs} ms (heartbeatTimeoutMs ${this.#heartbeatTimeoutMs})`);
    }
    this.#notify();
  }

  #onExit(exit: WorkerExit): void {
    if (this.#ended) return;
    const how = exit.signal === null ? `exited with code ${exit.code}` : `was killed by ${exit.signal}`;
    const tail = exit.lastStderr.length === 0 ? "" : `; last stderr: ${exit.lastStderr.join(" | ")}`;
    if (exit.signal === null && exit.code === WORKER_EXIT_CONFIG) {
      // Exit status 2 is a config error (a plug-in worker, or one that failed before it could say so).
      this.#log(`worker ${exit.workerId} ${how}${tail}`);
      const cause = exit.lastStderr.filter((line) => line.trim() !== "").at(-1)?.trim() ?? "no output on stderr";
      this.#configError(exit.workerId, cause, exit.code);
      return;
    }
    // Known, or never said hello: lost now. Already lost (and stopped by us): nothing to do.
    if (this.isAlive(exit.workerId) || !this.#pool.isLost(exit.workerId)) this.#lose(exit.workerId, `its process ${how}${tail}`);
    this.#checkWorkersLeft(`the last worker ${how}${tail}`);
    this.#notify();
  }

  /**
   * A worker cannot run the experiment's config or data: the run fails now, not resumable as
   * it is, and the worker is not lost (no replacement: another one would fail the same way).
   */
  #configError(workerId: string, reason: string, exitCode: number | null): void {
    const oneLine = reason.trim().split(/\s*\n\s*/).join(" | ");
    this.#events.emit({ type: "worker-fatal", workerId, kind: "config", reason: oneLine, exitCode });
    this.#log(`worker ${workerId} cannot run this config: ${oneLine}`);
    // It is leaving by itself: out of the pool, so the stop sends it nothing more.
    this.#pool.remove(workerId);
    this.#router.peerGone(workerId);
    const how = exitCode === null ? "" : ` (exit code ${exitCode})`;
    this.fail(new RunError(`config error reported by worker ${workerId}${how}: ${oneLine}`, { config: true }));
  }

  /** A worker is gone: its task goes back to its owner, a replacement is started. */
  #lose(id: string, reason: string, options: { replace?: boolean } = {}): void {
    const worker = this.#pool.remove(id);
    this.#router.peerGone(id);
    this.#events.emit({ type: "worker-lost", workerId: id, reason });
    this.#log(`worker ${id} lost: ${reason}`);
    const busy = worker?.busy ?? null;
    if (busy?.kind === "task") this.#owners.get(busy.key)?.onLost(id, busy.taskId, `worker ${id} lost: ${reason}`);
    for (const listener of this.#goneListeners) listener(id);
    if (this.#upload?.workerId === id) this.#upload.lost = true;
    void this.#transfers.dropPeer(id, `worker ${id} lost: ${reason}`);
    if (options.replace !== false && this.#launcher !== null && !this.#ended) {
      if (this.#launcher.replace(id) === null) this.#log(`no replacement for ${id}: the restart budget is spent`);
    }
    this.#checkWorkersLeft(`worker ${id} was lost (${reason}) and no replacement can be started`);
  }

  #checkWorkersLeft(why: string): void {
    if (this.#launcher === null || this.#ended) return;
    if (this.#pool.size === 0 && this.#launcher.running() === 0) this.fail(new RunError(`no worker left: ${why}`));
  }
}

/** Waits for `promise`, at most `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
