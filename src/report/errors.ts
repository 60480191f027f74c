/** The one error type of the report layer: a report that cannot be drawn (no epochs, no Python, bad curves). */
export class ReportError extends Error {
  override readonly name = "ReportError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}
