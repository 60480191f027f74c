/**
 * Decoding and validation of one received header frame (docs/protocol.md, "Framing"):
 * at most MAX_HEADER_BYTES of UTF-8 JSON, an object, of this protocol version, matching
 * the zod schema of its `type`. A failure names the offending field (`header` when the
 * frame is not a JSON object at all), as proto/vectors/wire/messages.json expects.
 */
import { expectedPhrase, formatIssues } from "../format.js";
import { MAX_HEADER_BYTES, PROTOCOL_VERSION, type WireMessage, wireMessage } from "./messages.js";

export type HeaderCheck =
  | { ok: true; header: WireMessage }
  | {
      ok: false;
      /** The offending field, or `header` when the frame is not a JSON object. */
      field: string;
      /** One line: the field, what was expected and what was given. */
      reason: string;
      /** The msgId of the rejected message, when it had a readable one. */
      msgId: string | null;
    };

const utf8 = new TextDecoder("utf-8", { fatal: true });

function failure(field: string, reason: string, msgId: string | null = null): HeaderCheck {
  return { ok: false, field, reason, msgId };
}

function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** Validates a decoded header value against the wire schema. */
export function checkHeader(value: unknown): HeaderCheck {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return failure("header", `header: expected a JSON object, got ${describeJson(value)}`);
  }
  const record = value as Record<string, unknown>;
  const msgId = typeof record.msgId === "string" ? record.msgId.slice(0, 128) : null;
  if (record.protocol !== PROTOCOL_VERSION) {
    const given = record.protocol === undefined ? "nothing" : JSON.stringify(record.protocol);
    return failure("protocol", `protocol: expected version ${PROTOCOL_VERSION}, got ${given}`, msgId);
  }
  const parsed = wireMessage.safeParse(value, { error: expectedPhrase, reportInput: true });
  if (parsed.success) return { ok: true, header: parsed.data };
  const issue = parsed.error.issues[0];
  const [problem] = formatIssues(parsed.error.issues.slice(0, 1));
  if (issue === undefined || problem === undefined) return failure("header", "header: invalid message", msgId);
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const field = String(issue.path[0] ?? keys[0] ?? "header");
  const where = issue.path.length > 0 ? problem.path : field;
  const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : "";
  return failure(field, `${where}: ${problem.message}${more}`, msgId);
}

/** Decodes one header frame: size, UTF-8, JSON, then `checkHeader`. */
export function decodeHeader(frame: Uint8Array): HeaderCheck {
  if (frame.byteLength > MAX_HEADER_BYTES) {
    return failure("header", `header: expected at most ${MAX_HEADER_BYTES} bytes, got ${frame.byteLength}`);
  }
  let text: string;
  try {
    text = utf8.decode(frame);
  } catch {
    return failure("header", "header: expected UTF-8 text, got bytes that are not UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return failure("header", `header: expected JSON, got text that does not parse (${(error as Error).message})`);
  }
  return checkHeader(value);
}
