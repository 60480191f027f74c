export { TransportError } from "./errors.js";
export { sha256Hex } from "./digest.js";
export { buildHeader, encodeFrames, type Envelope, type Fields } from "./framing.js";
export { MsgIds, printableId } from "./ids.js";
// Transfer defaults, one value for both languages (the wire schema's x-default*, x-maxCheckpointBytes).
export {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_MAX_CHECKPOINT_BYTES,
  DEFAULT_TRANSFER_TIMEOUT_MS,
  DEFAULT_WINDOW_CHUNKS,
} from "../schema/wire/messages.js";
export { checkInbound, type Inbound, type InboundRules } from "./inbound.js";
export { CONTROLLER_ID, RouterEndpoint, type Received, type Rejection, type RouterOptions } from "./router.js";
export { DealerEndpoint, type DealerOptions, type DealerReceived } from "./dealer.js";
export { ChunkReceiver, type Announced, type ReceivedFile } from "./chunk-receiver.js";
export { ChunkSender, chunkCount, type ChunkSource } from "./chunk-sender.js";
export {
  Transfers,
  type Outgoing,
  type Post,
  type TransferOptions,
} from "./transfers.js";
export {
  type CurveKeyPair,
  type WorkerCurveKeys,
  needsCurve,
  newKeyPair,
  readWorkerKeys,
  workerKeyFile,
  writeWorkerKeys,
  writeWorkerKeysSync,
  z85Encode,
} from "./curve.js";
export { type ZapDecision, zapHandler } from "./zap.js";
