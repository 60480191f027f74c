/** The one error type of `amlfs inspect-space` past argument parsing: an inspection that could not be computed. */
export class InspectError extends Error {
  override readonly name = "InspectError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}
