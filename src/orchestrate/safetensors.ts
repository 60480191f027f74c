/**
 * A light check that bytes are a safetensors file (8-byte little-endian header length,
 * then a JSON object of that length): the controller stores and forwards checkpoints but
 * never reads tensors, so this is all it needs to refuse something that is not one.
 */
const MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024;

/** The reason `bytes` are not a safetensors file, or null when they look like one. */
export function safetensorsProblem(bytes: Uint8Array): string | null {
  if (bytes.byteLength < 8) return `expected at least 8 bytes, got ${bytes.byteLength}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_SAFETENSORS_HEADER, bytes.byteLength - 8))) {
    return `header length ${headerLength} does not fit in ${bytes.byteLength} bytes`;
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + 8, Number(headerLength)).toString("utf8");
  try {
    const header: unknown = JSON.parse(text);
    if (header === null || typeof header !== "object" || Array.isArray(header)) return "header is not a JSON object";
  } catch {
    return "header is not JSON";
  }
  return null;
}

/** A safetensors file with the given tensors (F64 only) and string metadata; for tests and benchmarks. */
export function encodeSafetensors(tensors: Record<string, Float64Array>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, values] of Object.entries(tensors)) {
    header[name] = { dtype: "F64", shape: [values.length], data_offsets: [offset, offset + values.byteLength] };
    offset += values.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headerBytes.byteLength + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.byteLength), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.byteLength;
  for (const values of Object.values(tensors)) {
    Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(out, at);
    at += values.byteLength;
  }
  return out;
}
