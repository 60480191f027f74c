/**
 * Framing of outgoing messages (docs/protocol.md, "Framing"): `[header JSON, ...payload]`.
 * The header gets the common fields here, and is checked against the wire schema before
 * it leaves, so a bug on this side shows up as an error naming the field, not as a
 * reject from the other side.
 */
import { MAX_HEADER_BYTES, PAYLOAD_TYPES, PROTOCOL_VERSION, type MessageOf, type MessageType } from "../schema/wire/messages.js";
import { checkHeader } from "../schema/wire/validate.js";
import { TransportError } from "./errors.js";

type Common = "protocol" | "type" | "msgId" | "runId" | "sender";
/** The type-specific fields of a message (and `replyTo`), without the common ones. */
export type Fields<T extends MessageType> = Omit<MessageOf<T>, Common>;

export interface Envelope {
  runId: string;
  sender: string;
  msgId: string;
}

/** The header object of a message of `type`, common fields first. */
export function buildHeader<T extends MessageType>(type: T, fields: Fields<T>, envelope: Envelope): MessageOf<T> {
  return {
    protocol: PROTOCOL_VERSION,
    type,
    msgId: envelope.msgId,
    runId: envelope.runId,
    sender: envelope.sender,
    ...fields,
  } as unknown as MessageOf<T>;
}

/** The frames of a message: the checked header, then the payload frames. */
export function encodeFrames(header: MessageOf<MessageType>, payload: readonly Uint8Array[] = []): Uint8Array[] {
  const check = checkHeader(header);
  if (!check.ok) {
    throw new TransportError(`outgoing ${header.type} message ${header.msgId} is invalid: ${check.reason}`, {
      field: check.field,
    });
  }
  const expected = PAYLOAD_TYPES.has(header.type) ? 1 : 0;
  if (payload.length !== expected) {
    throw new TransportError(
      `outgoing ${header.type} message ${header.msgId}: expected ${expected} payload frame(s), got ${payload.length}`,
      { field: "payload" },
    );
  }
  const text = Buffer.from(JSON.stringify(header), "utf8");
  if (text.byteLength > MAX_HEADER_BYTES) {
    throw new TransportError(
      `outgoing ${header.type} message ${header.msgId}: header is ${text.byteLength} bytes, ` +
        `more than the limit of ${MAX_HEADER_BYTES}`,
      { field: "header" },
    );
  }
  return [text, ...payload];
}
