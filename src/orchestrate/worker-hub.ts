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
 * This file keeps the workers, their liveness and the messages; each concern behind them
 * has its own file: giving out tasks and handing back results (task-dispatch.ts), serving
 * the checkpoints workers download (checkpoint-server.ts), and the uploads (upload-exchange.ts:
 * requested, received in chunks, checked by sha256, asked again when bad, and the worker
 * given up after repeated bad uploads). Checkpoints move with credit-based flow control
 * (transport/transfers.ts).
 */
import type { Launcher, WorkerExit } from "../launch/launcher.js";
import type { Experiment } from "../schema/index.js";
import type { MessageOf } from "../schema/wire/messages.js";
import type { Received, RouterEndpoint } from "../transport/router.js";
import { Transfers } from "../transport/transfers.js";
import { CheckpointServer } from "./checkpoint-server.js";
import type { Holder } from "./epoch-run.js";
import { RunError } from "./errors.js";
import type { EventStream } from "./events.js";
import type { StoredCheckpoint } from "./run-dir.js";
import { TaskDispatch, type TaskOwner } from "./task-dispatch.js";
import { type Upload, UploadExchange } from "./upload-exchange.js";
import { Waiters } from "./waiters.js";
import { type WorkerState, WorkerPool } from "./worker-pool.js";

/** The exit status of a worker that cannot run the experiment's config or data (docs/plug-in.md). */
export const WORKER_EXIT_CONFIG = 2;

export type { TaskOwner } from "./task-dispatch.js";
export type { Upload } from "./upload-exchange.js";

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
  readonly #tasks: TaskDispatch;
  readonly #waiters = new Waiters();
  readonly #goneListeners: ((workerId: string) => void)[] = [];
  readonly #transfers: Transfers;
  readonly #checkpoints: CheckpointServer;
  readonly #uploads: UploadExchange;
  #timer: NodeJS.Timeout | null = null;
  #stopping = false;

  constructor(options: WorkerHubOptions) {
    this.#options = options;
    this.#router = options.router;
    this.#launcher = options.launcher;
    this.#events = options.events;
    this.#log = options.log;
    this.#heartbeatTimeoutMs = options.config.workers.heartbeatTimeoutMs;
    const refuse = (to: string, msgId: string, reason: string) => this.#refuse(to, msgId, reason);
    this.#tasks = new TaskDispatch({
      config: options.config,
      router: this.#router,
      events: this.#events,
      pool: this.#pool,
      maxTaskAttempts: options.maxTaskAttempts,
      startSha256: () => this.#checkpoints.startSha256,
      ended: () => this.#ended,
      refuse,
    });
    this.#transfers = new Transfers({
      ...options.transfer,
      idPrefix: "controller",
      post: (peer, type, fields, payload) => this.#router.send(peer, type, fields, payload),
      log: options.log,
    });
    const { loadCheckpoint, receiveDir } = options;
    this.#checkpoints = new CheckpointServer({ transfers: this.#transfers, loadCheckpoint, refuse });
    this.#uploads = new UploadExchange({
      router: this.#router,
      transfers: this.#transfers,
      pool: this.#pool,
      events: this.#events,
      log: options.log,
      receiveDir,
      until: (check) => this.until(check),
      notify: () => this.#notify(),
      lose: (workerId, reason) => this.#lose(workerId, reason),
      fail: (error) => this.fail(error),
    });
  }

  /** Checkpoint transfers in progress, each way (for tests and logs). */
  get transfers(): { sending: number; receiving: number } {
    return this.#transfers.active;
  }

  get maxAttempts(): number {
    return this.#tasks.maxAttempts;
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
    this.#router.onReject((rejection) => this.#uploads.onReject(rejection));
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
    this.#tasks.clear();
    for (const worker of this.#pool.all()) this.#router.send(worker.id, "shutdown", { reason });
    await this.#transfers.close(`the run stops: ${reason}`);
    // Bounded: with no worker connected at all (the last one just exited), the socket is not
    // writable and a send queued meanwhile (a heartbeat) waits for a peer that never comes.
    await this.#router.flushed(this.#options.stopGraceMs);
    await this.#launcher?.stopAll(this.#options.stopGraceMs);
    await this.#uploads.close();
  }

  /** Stops every wait with `error` (a signal, or no worker left). */
  fail(error: Error): void {
    this.#waiters.fail(error);
  }

  /** Resolves once `check()` holds (re-checked after every change); rejects when the run fails. */
  until(check: () => boolean): Promise<void> {
    this.#tasks.dispatch();
    return this.#waiters.until(check);
  }

  onWorkerGone(listener: (workerId: string) => void): void {
    this.#goneListeners.push(listener);
  }

  /** The state tasks start from now, served from memory to workers that ask for it. */
  setStart(stored: StoredCheckpoint, bytes: Buffer): void {
    this.#checkpoints.setStart(stored, bytes);
  }

  /** A stored checkpoint workers may ask for by sha256. */
  remember(stored: { file: string; sha256: string }): void {
    this.#checkpoints.remember(stored);
  }

  /** Checkpoint files that were deleted: no longer served. */
  forget(files: readonly string[]): void {
    this.#checkpoints.forget(files);
  }

  enqueue(key: string, owner: TaskOwner): void {
    this.#tasks.enqueue(key, owner);
    this.#notify();
  }

  /** Queues a lost task again; false when its attempts are spent. */
  retry(key: string): boolean {
    return this.#tasks.retry(key);
  }

  forgetOwner(key: string): void {
    this.#tasks.forgetOwner(key);
  }

  isAlive(workerId: string): boolean {
    return this.#pool.get(workerId) !== undefined;
  }

  /** Releases a kept result that was beaten (`keep {keep: false}`), if its worker is still there. */
  release(holder: Holder): void {
    if (this.isAlive(holder.workerId)) this.#router.send(holder.workerId, "keep", { taskId: holder.taskId, keep: false });
  }

  /** Has an idle worker build w_0 from `seed` and upload it; null when that worker was lost meanwhile. */
  requestInitialState(seed: number): Promise<Upload | null> {
    return this.#uploads.requestInitialState(seed);
  }

  /** Asks the holder of a kept result to upload it; null when it is gone or lost meanwhile. */
  requestUpload(holder: Holder): Promise<Upload | null> {
    return this.#uploads.requestUpload(holder);
  }

  #notify(): void {
    this.#tasks.dispatch();
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
        this.#tasks.onProgress(worker, message);
        break;
      case "result":
        this.#tasks.onResult(worker, message);
        break;
      case "checkpointRequest":
        this.#checkpoints.serve(worker.id, message);
        break;
      case "checkpoint":
        this.#uploads.onCheckpoint(worker.id, message);
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

  /** A worker refused something it was asked to do: it cannot be relied on any more. */
  #onWorkerReject(worker: WorkerState, message: MessageOf<"reject">): void {
    const rejected = message.rejectedMsgId;
    this.#log(`worker ${worker.id} rejected ${rejected ?? "a message"}: ${message.reason}`);
    const asked = rejected !== null && (worker.busy?.msgId === rejected || this.#uploads.isRequest(rejected));
    if (asked) this.#lose(worker.id, `it rejected ${rejected}: ${message.reason}`);
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
    this.#tasks.workerLost(id, worker?.busy ?? null, `worker ${id} lost: ${reason}`);
    for (const listener of this.#goneListeners) listener(id);
    this.#uploads.workerLost(id);
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
