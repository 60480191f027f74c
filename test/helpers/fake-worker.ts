/**
 * A simulated worker in TypeScript, speaking the wire protocol like the Python worker
 * (docs/protocol.md) over a real ZeroMQ DEALER, with a "model" that trains instantly:
 * the state is one float64 tensor, the trained state and the reward are deterministic
 * functions of (start state, theta, seed), so runs are reproducible and resumable.
 * Checkpoints move in chunks with credit (src/transport/transfers.ts), as with the
 * Python worker. Options make it misbehave on purpose (crash, hang, garbage, NaN
 * rewards, a crash or a corrupted chunk in the middle of an upload).
 */
import { createHash, randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LossStats } from "../../src/schema/wire/loss-stats.js";
import type { MessageOf, MessageType, WireMessage } from "../../src/schema/wire/messages.js";
import { encodeSafetensors } from "../../src/orchestrate/safetensors.js";
import { DealerEndpoint } from "../../src/transport/dealer.js";
import { sha256Hex } from "../../src/transport/digest.js";
import type { Fields } from "../../src/transport/framing.js";
import { Transfers } from "../../src/transport/transfers.js";

export interface FakeWorkerOptions {
  endpoint: string;
  workerId: string;
  runId: string;
  /** Float64 entries of the state tensor (default 64). */
  stateSize?: number;
  /**
   * Benchmarks: a task costs nothing; the trained state (the start state with (theta,
   * seed) stamped into its first 8 data bytes) is only made when it is uploaded.
   */
  instant?: boolean;
  /** Milliseconds each task takes (default 0). */
  taskMs?: number;
  /** Progress messages per task (default 2). */
  progressSteps?: number;
  /** Heartbeat period before welcome says otherwise (default 200 ms). */
  heartbeatMs?: number;
  /** Give up (as the Python worker does) when no welcome came within this time (default 5000 ms). */
  startupTimeoutMs?: number;
  /** Exit (close, or `process.exit` in a process) while running the n-th task (1-based). */
  crashOnTask?: number;
  /** Stop answering anything (and stop heartbeats) when the n-th task arrives. */
  hangOnTask?: number;
  /** Samples whose result is ok:false / reward null. */
  failSamples?: number[];
  /** Die (as with crashOnTask) when asked to upload the trained state of a task. */
  dieBeforeUpload?: boolean;
  nanSamples?: number[];
  /**
   * Die (as with crashOnTask) after sending `afterChunks` chunks of a trained state's
   * upload, while `armed`; the first worker to do so disarms it (share one object
   * between workers: exactly one upload is cut short, whoever holds the winner).
   */
  crashMidUpload?: { armed: boolean; afterChunks: number };
  /** Uploads whose first chunk has one byte flipped (the receiver's sha256 check must catch it). */
  corruptUploads?: number;
  /** Milliseconds before each outgoing chunk leaves (a slow upload; chunks keep their order). */
  chunkDelayMs?: number;
  /** Milliseconds before each credit this worker grants leaves (a slow download of a start state). */
  creditDelayMs?: number;
  /** Overrides welcome's heartbeatTimeoutMs for the controller's silence (a worker that outlives a pause). */
  controllerTimeoutMs?: number;
  /** On `shutdown`, let what is queued leave before closing (a late result of a paused worker reaches the controller). */
  flushOnShutdown?: boolean;
  /** Chunk size and window of this worker's transfers (default: transport/transfers.ts). */
  chunkBytes?: number;
  windowChunks?: number;
  /** Called instead of closing when the worker "crashes" (a process exits here). */
  onCrash?: () => void;
  log?: (line: string) => void;
}

/** The reward of a theta: higher the closer theta is to a fixed target (max 1). */
export function fakeReward(theta: readonly number[], seed: number): number {
  let distance = 0;
  theta.forEach((value, d) => {
    const target = d % 2 === 0 ? 1.2 : -0.1;
    distance += (value - target) ** 2;
  });
  return 1 / (1 + distance) + (seed % 7) * 1e-6;
}

/** The `lossStats` of a train task with this (loss) theta: made-up shares that depend on theta only. */
export function fakeLossStats(theta: readonly number[]): LossStats {
  const negative = theta.filter((value) => value < 0).length / theta.length;
  return { examples: 100 + theta.length, flooredShare: negative / 2, deadShare: negative, meanC: 1 - negative / 2, tDeadShare: negative / 4, meanTSlope: theta[0] ?? 1 };
}

/** The trained state: start entries moved towards theta, deterministically. */
export function fakeTrain(start: Float64Array, theta: readonly number[], seed: number): Float64Array {
  const out = new Float64Array(start.length);
  for (let i = 0; i < start.length; i++) {
    out[i] = 0.9 * (start[i] as number) + 0.1 * (theta[i % theta.length] as number) + ((seed + i) % 13) * 1e-3;
  }
  return out;
}

export function fakeInitialState(seed: number, size: number): Float64Array {
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = ((seed * 31 + i * 17) % 101) / 101;
  return out;
}

function decodeState(bytes: Buffer): Float64Array {
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const data = bytes.subarray(8 + headerLength);
  const copy = Buffer.from(data);
  return new Float64Array(copy.buffer, copy.byteOffset, copy.byteLength / 8);
}

/** A copy of a state with its first data entry replaced by a number derived from (theta, seed). */
function stamp(start: Buffer, theta: readonly number[], seed: number): Buffer {
  const out = Buffer.from(start);
  const headerLength = Number(out.readBigUInt64LE(0));
  out.writeDoubleLE(theta.reduce((a, b) => a + b, 0) + seed, 8 + headerLength);
  return out;
}

export class FakeWorker {
  readonly dealer: DealerEndpoint;
  readonly options: FakeWorkerOptions;
  readonly received: WireMessage[] = [];
  readonly #starts = new Map<string, Buffer>();
  readonly #held = new Map<string, () => Buffer>();
  readonly #waitingFor = new Map<string, (bytes: Buffer) => void>();
  readonly #uploaded = new Map<string, string>();
  readonly #transfers: Transfers;
  /** Chunks of the trained-state upload in progress, when it is to be cut short. */
  #doomedChunks: number | null = null;
  #corruptLeft: number;
  /** Delayed chunks and credits, in order (chunkDelayMs, creditDelayMs). */
  #delayed: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #lastHeardMs = Date.now();
  #controllerTimeoutMs: number;
  #tasks = 0;
  #hung = false;
  #closed = false;
  #exited: Promise<void>;
  #exit: () => void = () => {};

  constructor(options: FakeWorkerOptions) {
    this.options = options;
    this.#controllerTimeoutMs = options.startupTimeoutMs ?? 5000;
    this.dealer = DealerEndpoint.connect({
      endpoint: options.endpoint,
      workerId: options.workerId,
      runId: options.runId,
      log: options.log ?? (() => {}),
    });
    this.#corruptLeft = options.corruptUploads ?? 0;
    this.#transfers = new Transfers({
      idPrefix: options.workerId,
      post: (_peer, type, fields, payload = []) => this.#post(type, fields, payload),
      log: options.log ?? (() => {}),
      ...(options.chunkBytes === undefined ? {} : { chunkBytes: options.chunkBytes }),
      ...(options.windowChunks === undefined ? {} : { windowChunks: options.windowChunks }),
    });
    this.#exited = new Promise((resolve) => (this.#exit = resolve));
    this.dealer.onMessage(({ message, payload }) => this.#onMessage(message, payload));
    this.dealer.send("hello", {
      pid: process.pid,
      host: "fake-host",
      device: "cpu",
      threads: 1,
      versions: { python: "none", torch: "none", amlfs: "fake", pyzmq: "none" },
      adapter: "small-cnn",
      datasetSizes: { train: 100, val: 20, test: 20 },
    });
    this.#startHeartbeats(options.heartbeatMs ?? 200);
  }

  /** Resolves when the worker closed (shutdown, crash, or close()). */
  get exited(): Promise<void> {
    return this.#exited;
  }

  /** Sha256 of the states this worker holds to start from. */
  get startStates(): string[] {
    return [...this.#starts.keys()];
  }

  get heldResults(): string[] {
    return [...this.#held.keys()];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#transfers.close("the worker closed");
    await this.dealer.close();
    this.#exit();
  }

  #startHeartbeats(periodMs: number): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      if (this.#hung) return;
      this.dealer.send("heartbeat", {});
      // Like the Python worker: a controller silent past the timeout (or no welcome) is gone; exit.
      if (Date.now() - this.#lastHeardMs > this.#controllerTimeoutMs) {
        this.options.log?.(`${this.options.workerId}: controller silent, exiting`);
        if (this.options.onCrash !== undefined) this.options.onCrash();
        else void this.close();
      }
    }, periodMs);
  }

  /** Sends a message; chunks may crash the worker or be corrupted, as the options say. */
  #post<T extends MessageType>(type: T, fields: Fields<T>, payload: readonly Uint8Array[]): string {
    if (this.#closed || this.#hung) return "";
    if (type === "checkpointChunk") {
      if (this.#doomedChunks !== null && this.#doomedChunks >= (this.options.crashMidUpload?.afterChunks ?? 0)) {
        this.#crash();
        return "";
      }
      if (this.#doomedChunks !== null) this.#doomedChunks += 1;
      if (this.#corruptLeft > 0 && (fields as unknown as { index: number }).index === 0) {
        this.#corruptLeft -= 1;
        const bad = Buffer.from(payload[0] as Uint8Array);
        bad[bad.byteLength - 1] = (bad[bad.byteLength - 1] as number) ^ 0xff;
        return this.dealer.send(type, fields, [bad]);
      }
    }
    const delayMs = type === "checkpointChunk" ? this.options.chunkDelayMs : type === "credit" ? this.options.creditDelayMs : undefined;
    if (delayMs !== undefined && delayMs > 0) {
      // Transfers ignore the msgId of chunks and credits; the chain keeps their order.
      this.#delayed = this.#delayed
        .then(() => new Promise((resolve) => setTimeout(resolve, delayMs)))
        .then(() => {
          if (!this.#closed && !this.#hung) this.dealer.send(type, fields, payload);
        });
      return "";
    }
    return this.dealer.send(type, fields, payload);
  }

  #crash(): void {
    if (this.options.onCrash !== undefined) this.options.onCrash();
    else void this.close();
  }

  #onMessage(message: WireMessage, payload: Buffer[]): void {
    if (this.#hung || this.#closed) return;
    this.received.push(message);
    this.#lastHeardMs = Date.now();
    if (this.#transfers.handle("controller", message, payload)) return;
    switch (message.type) {
      case "welcome":
        this.#controllerTimeoutMs = this.options.controllerTimeoutMs ?? message.heartbeatTimeoutMs;
        this.#startHeartbeats(message.heartbeatIntervalMs);
        break;
      case "initRequest": {
        const bytes = encodeSafetensors({ w: fakeInitialState(message.seed, this.options.stateSize ?? 64) }, { epoch: "0" });
        const sha = sha256Hex(bytes);
        this.#starts.set(sha, bytes);
        this.#transfers.send("controller", { bytes }, { replyTo: message.msgId, sha256: sha, sizeBytes: bytes.byteLength });
        break;
      }
      case "checkpoint":
        void this.#download(message);
        break;
      case "task":
        void this.#runTask(message);
        break;
      case "keep":
        if (!message.keep) this.#held.delete(message.taskId);
        break;
      case "checkpointRequest":
        this.#upload(message);
        break;
      case "shutdown":
        if (this.options.flushOnShutdown === true) void this.dealer.flushed().then(() => this.close());
        else void this.close();
        break;
      default:
        break;
    }
  }

  #upload(message: MessageOf<"checkpointRequest">): void {
    if (this.options.dieBeforeUpload === true) {
      this.#crash();
      return;
    }
    const taskId = message.taskId;
    // Held, or uploaded already and kept as a start state (an upload asked for again), as the Python worker does.
    const uploaded = taskId === undefined ? undefined : this.#uploaded.get(taskId);
    const bytes = taskId === undefined ? undefined : (this.#held.get(taskId)?.() ?? (uploaded === undefined ? undefined : this.#starts.get(uploaded)));
    if (taskId === undefined || bytes === undefined) {
      this.dealer.send("reject", { reason: `no held state for ${taskId}`, rejectedMsgId: message.msgId });
      return;
    }
    const sha = sha256Hex(bytes);
    const doom = this.options.crashMidUpload;
    if (doom?.armed === true) {
      doom.armed = false;
      this.#doomedChunks = 0;
    }
    this.#held.delete(taskId);
    this.#uploaded.set(taskId, sha);
    this.#starts.set(sha, bytes);
    this.#transfers.send("controller", { bytes }, { replyTo: message.msgId, sha256: sha, sizeBytes: bytes.byteLength, taskId });
  }

  /** Receives a start state (through a temporary file) and hands it to whoever waits for it. */
  async #download(announce: MessageOf<"checkpoint">): Promise<void> {
    const path = join(tmpdir(), `amlfs-fake-${this.options.workerId}-${randomBytes(6).toString("hex")}.part`);
    const waiter = announce.replyTo === undefined ? undefined : this.#waitingFor.get(announce.replyTo);
    try {
      const file = await this.#transfers.receive("controller", announce, path);
      const bytes = await readFile(file.path);
      await rm(file.path, { force: true });
      this.#starts.set(announce.sha256, bytes);
      waiter?.(bytes);
    } catch (error) {
      this.options.log?.(`${this.options.workerId}: download failed: ${(error as Error).message}`);
      // Ask again, for whoever waits (the controller resends from its verified copy).
      if (waiter !== undefined && !this.#closed) this.#waitingFor.set(this.dealer.send("checkpointRequest", { sha256: announce.sha256 }), waiter);
    }
  }

  async #startState(sha: string): Promise<Buffer> {
    const held = this.#starts.get(sha);
    if (held !== undefined) return held;
    return new Promise((resolve) => {
      const msgId = this.dealer.send("checkpointRequest", { sha256: sha });
      this.#waitingFor.set(msgId, resolve);
    });
  }

  async #runTask(task: MessageOf<"task">): Promise<void> {
    this.#tasks += 1;
    const options = this.options;
    if (options.hangOnTask === this.#tasks) {
      this.#hung = true;
      return;
    }
    const start = await this.#startState(task.start);
    // Keep only the state of this task's start (a worker holds one start state).
    for (const sha of this.#starts.keys()) if (sha !== task.start) this.#starts.delete(sha);
    const steps = options.progressSteps ?? 2;
    for (let step = 1; step <= steps; step++) {
      if ((options.taskMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, (options.taskMs ?? 0) / steps));
      if (this.#closed || this.#hung) return;
      if (options.crashOnTask === this.#tasks && step === Math.ceil(steps / 2)) {
        if (options.onCrash !== undefined) options.onCrash();
        else await this.close();
        return;
      }
      this.dealer.send("progress", { taskId: task.taskId, step, steps, loss: 1 / step, samplesPerSec: 1000 });
    }
    const common = { taskId: task.taskId, timingsMs: { train: options.taskMs ?? 0, eval: 0 } };
    if (options.failSamples?.includes(task.sample) === true && task.kind === "train") {
      this.dealer.send("result", { ...common, ok: false, reward: null, trainLoss: null, metrics: {}, reason: "loss is NaN at step 1" });
      return;
    }
    if (options.nanSamples?.includes(task.sample) === true && task.kind === "train") {
      // ok with a null reward: the controller must still count it as failed.
      this.dealer.send("result", { ...common, ok: true, reward: null, trainLoss: 0.5, metrics: { top1: null } });
      return;
    }
    const reward = fakeReward(task.theta, task.seed);
    if (task.kind === "evaluate") {
      const metrics = { top1: reward, digest: Number.parseInt(createHash("sha256").update(start).digest("hex").slice(0, 8), 16) };
      this.dealer.send("result", { ...common, ok: true, reward, trainLoss: null, metrics });
      return;
    }
    if (options.instant === true) {
      this.#held.set(task.taskId, () => stamp(start, task.theta, task.seed));
    } else {
      const trained = encodeSafetensors({ w: fakeTrain(decodeState(start), task.theta, task.seed) }, { epoch: String(task.epoch + 1) });
      this.#held.set(task.taskId, () => trained);
    }
    this.dealer.send("result", { ...common, ok: true, reward, trainLoss: 0.5, metrics: { top1: reward }, lossStats: fakeLossStats(task.theta) });
  }
}
