/**
 * A worker's side of the socket pair: a ZeroMQ DEALER with the worker id as routing id.
 * The Python worker has its own; this one drives the simulated workers of the tests and
 * benchmarks, with the same checks on what it receives as the controller's socket.
 */
import * as zmq from "zeromq";
import type { MessageOf, MessageType, WireMessage } from "../schema/wire/messages.js";
import { TransportError } from "./errors.js";
import { buildHeader, encodeFrames, type Fields } from "./framing.js";
import { MsgIds } from "./ids.js";
import { DEFAULT_MAX_CHECKPOINT_BYTES } from "../schema/wire/messages.js";
import { checkInbound, looksLikeReject } from "./inbound.js";
import { SendQueue } from "./send-queue.js";

export interface DealerOptions {
  endpoint: string;
  workerId: string;
  runId: string;
  maxCheckpointBytes?: number;
  log?: (line: string) => void;
  /** CURVE: the controller's public key and this worker's pair (curve.ts, readWorkerKeys). */
  curve?: { serverPublicKey: string; publicKey: string; secretKey: string };
}

export interface DealerReceived {
  message: WireMessage;
  payload: Buffer[];
}

export class DealerEndpoint {
  readonly workerId: string;
  readonly runId: string;
  readonly #socket: zmq.Dealer;
  readonly #sends: SendQueue;
  readonly #ids: MsgIds;
  readonly #log: (line: string) => void;
  readonly #maxCheckpointBytes: number;
  #onMessage: (received: DealerReceived) => void = () => {};
  #loop: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(socket: zmq.Dealer, options: DealerOptions) {
    this.#socket = socket;
    this.workerId = options.workerId;
    this.runId = options.runId;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#maxCheckpointBytes = options.maxCheckpointBytes ?? DEFAULT_MAX_CHECKPOINT_BYTES;
    this.#ids = new MsgIds(options.workerId);
    this.#sends = new SendQueue(socket, this.#log);
  }

  static connect(options: DealerOptions): DealerEndpoint {
    const curve = options.curve;
    const security =
      curve === undefined ? {} : { curveServerKey: curve.serverPublicKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey };
    const socket = new zmq.Dealer({ routingId: options.workerId, linger: 0, ...security });
    try {
      socket.connect(options.endpoint);
    } catch (error) {
      socket.close();
      throw new TransportError(`cannot connect to ${options.endpoint}: ${(error as Error).message}`, {
        field: "endpoint",
        cause: error,
      });
    }
    const dealer = new DealerEndpoint(socket, options);
    dealer.#loop = dealer.#receiveLoop();
    return dealer;
  }

  onMessage(handler: (received: DealerReceived) => void): void {
    this.#onMessage = handler;
  }

  send<T extends MessageType>(type: T, fields: Fields<T>, payload: readonly Uint8Array[] = []): string {
    const msgId = this.#ids.next();
    const header = buildHeader(type, fields, { runId: this.runId, sender: this.workerId, msgId });
    if (!this.#closed) this.#sends.push(encodeFrames(header as MessageOf<MessageType>, payload), `${type} ${msgId}`);
    return msgId;
  }

  /** Sends frames as given, unchecked: for tests that misbehave on purpose. */
  sendRaw(frames: Uint8Array[]): void {
    if (!this.#closed) this.#sends.push(frames, "raw frames");
  }

  flushed(): Promise<void> {
    return this.#sends.flushed();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    await this.#loop;
  }

  async #receiveLoop(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.#socket.receive();
      } catch (error) {
        if (this.#closed || this.#socket.closed) return;
        this.#log(`${this.workerId}: receive failed, continuing: ${(error as Error).message}`);
        continue;
      }
      const inbound = checkInbound(frames, null, { runId: this.runId, maxCheckpointBytes: this.#maxCheckpointBytes });
      if (!inbound.ok) {
        this.#log(`${this.workerId}: rejected message from controller: ${inbound.reason}`);
        if (!looksLikeReject(frames[0])) this.send("reject", { reason: inbound.reason, rejectedMsgId: inbound.msgId });
        continue;
      }
      try {
        this.#onMessage({ message: inbound.message, payload: inbound.payload });
      } catch (error) {
        this.#log(`${this.workerId}: message handler failed: ${(error as Error).stack ?? String(error)}`);
      }
    }
  }
}
