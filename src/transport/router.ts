/**
 * The controller's socket: a ZeroMQ ROUTER whose peers are worker DEALERs, each with its
 * worker id as routing id (docs/protocol.md). Every incoming message is checked
 * (checkInbound); a bad one is logged in one line with the reason and the sender's id,
 * answered with `reject`, and the receive loop goes on: no input stops it.
 *
 * With `curve`, the socket is a CURVE server: traffic is encrypted, and only clients
 * whose public key is allowed (`allowedClientKeys`, `allowClient`) get through the
 * handshake (zap.ts); others are refused before any message reaches the run.
 */
import { randomBytes } from "node:crypto";
import * as zmq from "zeromq";
import {
  DEFAULT_MAX_CHECKPOINT_BYTES,
  MAX_CHUNK_BYTES,
  MAX_HEADER_BYTES,
  type MessageOf,
  type MessageType,
  type WireMessage,
} from "../schema/wire/messages.js";
import { TransportError } from "./errors.js";
import { buildHeader, encodeFrames, type Fields } from "./framing.js";
import { MsgIds, printableId } from "./ids.js";
import { checkInbound, looksLikeReject } from "./inbound.js";
import { SendQueue } from "./send-queue.js";
import { zapHandler } from "./zap.js";

export const CONTROLLER_ID = "controller";
/** How long close() waits for queued messages to leave. */
const CLOSE_FLUSH_MS = 2000;

export interface RouterOptions {
  runId: string;
  /** Where to bind; default `tcp://127.0.0.1:*` (an ephemeral loopback port). */
  bindTo?: string;
  maxCheckpointBytes?: number;
  log: (line: string) => void;
  /** CURVE (TCP across hosts): the controller's secret key and the worker public keys allowed. */
  curve?: { secretKey: string; allowedClientKeys: readonly string[] };
}

export interface Received {
  from: string;
  message: WireMessage;
  payload: Buffer[];
}

export interface Rejection {
  from: string;
  field: string;
  reason: string;
  msgId: string | null;
}

export class RouterEndpoint {
  readonly endpoint: string;
  readonly runId: string;
  readonly #socket: zmq.Router;
  readonly #sends: SendQueue;
  readonly #ids = new MsgIds(CONTROLLER_ID);
  readonly #log: (line: string) => void;
  readonly #maxCheckpointBytes: number;
  #onMessage: (received: Received) => void = () => {};
  #onReject: (rejection: Rejection) => void = () => {};
  #loop: Promise<void> = Promise.resolve();
  #closed = false;
  #zap: { domain: string; keys: Set<string> } | null = null;

  private constructor(socket: zmq.Router, endpoint: string, options: RouterOptions) {
    this.#socket = socket;
    this.endpoint = endpoint;
    this.runId = options.runId;
    this.#log = options.log;
    this.#maxCheckpointBytes = options.maxCheckpointBytes ?? DEFAULT_MAX_CHECKPOINT_BYTES;
    this.#sends = new SendQueue(socket, options.log);
  }

  static async bind(options: RouterOptions): Promise<RouterEndpoint> {
    const bindTo = options.bindTo ?? "tcp://127.0.0.1:*";
    // mandatory: a send to a peer that is gone fails (and is logged) instead of vanishing;
    // handover: a worker that reconnects under its id takes the id over; maxMessageSize:
    // libzmq drops the connection of a peer sending a frame larger than any chunk, before
    // it is buffered (checkpoints come in chunks, whatever their size).
    const maxMessageSize = Math.max(MAX_CHUNK_BYTES, 16 * MAX_HEADER_BYTES) + 1;
    let zap: { domain: string; keys: Set<string> } | null = null;
    let security: Partial<zmq.SocketOptions<zmq.Router>> = {};
    if (options.curve !== undefined) {
      const domain = `amlfs-${randomBytes(8).toString("hex")}`;
      const keys = await zapHandler.register(domain, options.curve.allowedClientKeys, (decision) => {
        if (!decision.allowed) {
          const key = decision.publicKey === null ? "no CURVE key" : `key ${decision.publicKey}`;
          options.log(`transport: refused a client from ${decision.address}: ${key} is not allowed`);
        }
      });
      zap = { domain, keys };
      security = { curveServer: true, curveSecretKey: options.curve.secretKey, zapDomain: domain };
    }
    const socket = new zmq.Router({ mandatory: true, handover: true, linger: 0, maxMessageSize, ...security });
    try {
      await socket.bind(bindTo);
    } catch (error) {
      socket.close();
      if (zap !== null) await zapHandler.unregister(zap.domain);
      throw new TransportError(`cannot bind the controller socket to ${bindTo}: ${(error as Error).message}`, {
        field: "endpoint",
        cause: error,
      });
    }
    const endpoint = socket.lastEndpoint;
    if (endpoint === null) throw new TransportError(`binding ${bindTo} gave no endpoint`, { field: "endpoint" });
    const router = new RouterEndpoint(socket, endpoint, options);
    router.#zap = zap;
    router.#loop = router.#receiveLoop();
    return router;
  }

  /** Called with every message that passed validation. */
  onMessage(handler: (received: Received) => void): void {
    this.#onMessage = handler;
  }

  /** Called after a message was rejected (and answered), for callers that wait on a peer. */
  onReject(handler: (rejection: Rejection) => void): void {
    this.#onReject = handler;
  }

  /** Queues a message to worker `to`; returns its msgId at once. */
  send<T extends MessageType>(to: string, type: T, fields: Fields<T>, payload: readonly Uint8Array[] = []): string {
    return this.#sendTo(Buffer.from(to, "utf8"), to, type, fields, payload);
  }

  #sendTo<T extends MessageType>(routing: Buffer, to: string, type: T, fields: Fields<T>, payload: readonly Uint8Array[] = []): string {
    const msgId = this.#ids.next();
    const header = buildHeader(type, fields, { runId: this.runId, sender: CONTROLLER_ID, msgId });
    const frames = encodeFrames(header as MessageOf<MessageType>, payload);
    if (!this.#closed) this.#sends.push([routing, ...frames], `${type} ${msgId} to ${to}`, to);
    return msgId;
  }

  /** With CURVE: lets a worker with this public key connect from now on (a replacement's new key). */
  allowClient(publicKey: string): void {
    if (this.#zap === null) throw new TransportError("allowClient: this socket does not use CURVE", { field: "curve" });
    this.#zap.keys.add(publicKey);
  }

  /**
   * Worker `id` is known to be gone (its process exited, or it was given up on): sends to
   * it that fail are not logged, as the reason was (until one to it succeeds again).
   */
  peerGone(id: string): void {
    this.#sends.peerGone(id);
  }

  /**
   * Waits until everything queued so far has been handed to the socket, or `withinMs` has
   * passed: with no peer connected the socket is not writable, and a send to a peer that is
   * going away may never complete.
   */
  async flushed(withinMs?: number): Promise<void> {
    if (withinMs === undefined) return this.#sends.flushed();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, withinMs)));
    try {
      await Promise.race([this.#sends.flushed(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Lets queued messages leave (at most `flushMs`: a send to a peer that is going away
   * may never complete), then closes the socket; what is still queued is dropped.
   */
  async close(flushMs = CLOSE_FLUSH_MS): Promise<void> {
    if (this.#closed) return;
    await this.flushed(flushMs);
    this.#closed = true;
    this.#socket.close();
    await this.#loop;
    if (this.#zap !== null) await zapHandler.unregister(this.#zap.domain);
  }

  async #receiveLoop(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.#socket.receive();
      } catch (error) {
        if (this.#closed || this.#socket.closed) return;
        this.#log(`transport: receive failed, continuing: ${(error as Error).message}`);
        continue;
      }
      this.#handle(frames);
    }
  }

  #handle(frames: Buffer[]): void {
    const [routing, ...rest] = frames;
    if (routing === undefined) return;
    const from = printableId(routing);
    const inbound = checkInbound(rest, from, { runId: this.runId, maxCheckpointBytes: this.#maxCheckpointBytes });
    if (!inbound.ok) {
      const id = inbound.msgId === null ? "" : ` ${inbound.msgId}`;
      this.#log(`transport: rejected message${id} from ${from}: ${inbound.reason}`);
      if (!looksLikeReject(rest[0])) {
        // The routing frame as received: it may not be printable.
        this.#sendTo(routing, from, "reject", { reason: inbound.reason.slice(0, 4096), rejectedMsgId: inbound.msgId });
      }
      this.#dispatch(() => this.#onReject({ from, field: inbound.field, reason: inbound.reason, msgId: inbound.msgId }));
      return;
    }
    this.#dispatch(() => this.#onMessage({ from, message: inbound.message, payload: inbound.payload }));
  }

  #dispatch(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#log(`transport: message handler failed, continuing: ${(error as Error).stack ?? String(error)}`);
    }
  }
}
