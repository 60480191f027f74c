/**
 * The one error type of the transport layer: a socket that cannot bind or send, or an
 * outgoing message that does not match the wire schema. `field` names the offending
 * input where there is one (a header field, `endpoint`, `payload`).
 */
export class TransportError extends Error {
  override readonly name = "TransportError";
  readonly field: string | null;

  constructor(message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = options?.field ?? null;
  }
}
