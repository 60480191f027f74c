/**
 * The JSON Schema (draft 2020-12) of every wire message, generated from the zod schemas
 * in messages.ts. The Python worker validates each incoming header against it.
 */
import { z } from "zod";
import {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_MAX_CHECKPOINT_BYTES,
  DEFAULT_TRANSFER_TIMEOUT_MS,
  DEFAULT_WINDOW_CHUNKS,
  MAX_CHUNK_BYTES,
  MAX_CREDIT_CHUNKS,
  MAX_HEADER_BYTES,
  PROTOCOL_VERSION,
  wireMessage,
} from "./messages.js";

export const WIRE_SCHEMA_ID = "https://amlfs.dev/schema/wire.json";
export const WIRE_SCHEMA_FILE = "proto/wire.schema.json";

/** The JSON Schema as a plain object, keys in a fixed order. */
export function wireJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(wireMessage, { target: "draft-2020-12", io: "input" });
  const { $schema, ...rest } = generated as Record<string, unknown>;
  return {
    $schema,
    $id: WIRE_SCHEMA_ID,
    title: "AM-LFS wire message header",
    description:
      `The JSON header (first frame) of every controller <-> worker message, protocol ${PROTOCOL_VERSION}; ` +
      `at most ${MAX_HEADER_BYTES} bytes. See docs/protocol.md.`,
    "x-protocol": PROTOCOL_VERSION,
    "x-maxHeaderBytes": MAX_HEADER_BYTES,
    "x-maxChunkBytes": MAX_CHUNK_BYTES,
    "x-maxCreditChunks": MAX_CREDIT_CHUNKS,
    "x-maxCheckpointBytes": DEFAULT_MAX_CHECKPOINT_BYTES,
    "x-defaultChunkBytes": DEFAULT_CHUNK_BYTES,
    "x-defaultWindowChunks": DEFAULT_WINDOW_CHUNKS,
    "x-defaultTransferTimeoutMs": DEFAULT_TRANSFER_TIMEOUT_MS,
    ...rest,
  };
}
