/**
 * Everything a received message must satisfy beyond its header's schema
 * (docs/protocol.md, "Framing"): this run's runId, a sender equal to the routing id it
 * came from, the payload frames its type carries, a checkpoint announced within the size
 * limit and a chunk of at most MAX_CHUNK_BYTES. What only a transfer knows (chunk order,
 * length, the sha256 of the whole file) is checked by its receiver (chunk-receiver.ts).
 */
import { MAX_CHUNK_BYTES, MAX_HEADER_BYTES, PAYLOAD_TYPES, type WireMessage } from "../schema/wire/messages.js";
import { decodeHeader } from "../schema/wire/validate.js";


/** Whether a frame is (probably) a reject, which is never answered with a reject (no ping-pong). */
export function looksLikeReject(frame: Buffer | undefined): boolean {
  return frame !== undefined && frame.byteLength <= MAX_HEADER_BYTES && /"type"\s*:\s*"reject"/.test(frame.toString("utf8"));
}

export interface InboundRules {
  runId: string;
  maxCheckpointBytes: number;
}

export type Inbound =
  | { ok: true; message: WireMessage; payload: Buffer[] }
  | { ok: false; field: string; reason: string; msgId: string | null };

function reject(field: string, reason: string, msgId: string | null): Inbound {
  return { ok: false, field, reason, msgId };
}

/**
 * Checks the frames of one message (without the routing frame). `routingId` is the id
 * the socket saw it from, or null where the socket has none (a DEALER hears only its
 * peer, the controller).
 */
export function checkInbound(frames: readonly Buffer[], routingId: string | null, rules: InboundRules): Inbound {
  const [first, ...payload] = frames;
  if (first === undefined) return reject("header", "header: expected a header frame, got an empty message", null);
  const check = decodeHeader(first);
  if (!check.ok) return reject(check.field, check.reason, check.msgId);
  const message = check.header;
  const id = message.msgId;
  if (message.runId !== rules.runId) {
    return reject("runId", `runId: expected this run's ${JSON.stringify(rules.runId)}, got ${JSON.stringify(message.runId)}`, id);
  }
  if (routingId !== null && message.sender !== routingId) {
    return reject(
      "sender",
      `sender: expected the routing id ${JSON.stringify(routingId)}, got ${JSON.stringify(message.sender)}`,
      id,
    );
  }
  const expected = PAYLOAD_TYPES.has(message.type) ? 1 : 0;
  if (payload.length !== expected) {
    return reject("payload", `payload: a ${message.type} carries ${expected} payload frame(s), got ${payload.length}`, id);
  }
  if (message.type === "checkpoint" && message.sizeBytes > rules.maxCheckpointBytes) {
    return reject(
      "sizeBytes",
      `sizeBytes: expected at most ${rules.maxCheckpointBytes} (maxCheckpointBytes), got ${message.sizeBytes}`,
      id,
    );
  }
  if (message.type === "checkpointChunk") {
    const length = (payload[0] as Buffer).byteLength;
    if (length === 0 || length > MAX_CHUNK_BYTES) {
      return reject("payload", `payload: a chunk has 1 to ${MAX_CHUNK_BYTES} bytes, got ${length}`, id);
    }
  }
  return { ok: true, message, payload };
}
