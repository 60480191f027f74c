/**
 * The one error type of the orchestration layer: a run that cannot go on (no sample
 * finished in an epoch, no worker left, a corrupt run directory, a checkpoint whose
 * sha256 does not match). `resumable` says whether `amlfs resume` can pick the run up.
 */
export class RunError extends Error {
  override readonly name = "RunError";
  readonly resumable: boolean;

  constructor(message: string, options?: { resumable?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.resumable = options?.resumable ?? true;
  }
}
