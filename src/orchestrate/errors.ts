/**
 * The one error type of the orchestration layer: a run that cannot go on (no sample
 * finished in an epoch, no worker left, a corrupt run directory, a checkpoint whose
 * sha256 does not match, a worker that cannot run the experiment's config or data).
 * `resumable` says whether `amlfs resume` can pick the run up; `config` marks a problem
 * of the config or its data (a worker's `fatal {kind: "config"}`, or its exit status 2),
 * which `amlfs` reports as a config error (exit 2) without suggesting `amlfs resume`: a
 * run's config is frozen, so a fixed config is a new run.
 */
export class RunError extends Error {
  override readonly name = "RunError";
  readonly resumable: boolean;
  readonly config: boolean;

  constructor(message: string, options?: { resumable?: boolean; config?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.config = options?.config ?? false;
    this.resumable = options?.resumable ?? !this.config;
  }
}
