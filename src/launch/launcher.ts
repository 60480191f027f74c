/**
 * What the controller needs from whatever starts its workers: start them, say when one
 * exits, replace a lost one (within a restart budget) and stop them all. `local` starts
 * processes on this host (local.ts); torchrun and slurm launchers fit the same interface.
 */
export interface LaunchContext {
  /** The controller's endpoint the workers connect to. */
  endpoint: string;
  runId: string;
  /**
   * Set when the controller's socket is a CURVE server (TCP beyond loopback): writes the
   * key file of a new worker, allows its public key, and returns the file the worker reads
   * (given to it as AMLFS_CURVE_KEYS).
   */
  curveKeysFor?: (workerId: string) => string;
}

export interface WorkerExit {
  workerId: string;
  code: number | null;
  signal: string | null;
  /** The last lines the worker wrote to stderr, for the error message. */
  lastStderr: string[];
}

export interface Launcher {
  /** Starts the initial workers; returns their ids. */
  start(context: LaunchContext): Promise<string[]>;
  /** Called once for each started worker whose process ended. */
  onExit(listener: (exit: WorkerExit) => void): void;
  /** Stops `workerId` (if it still runs) and starts a replacement; null when the restart budget is spent. */
  replace(workerId: string): string | null;
  /** Number of started workers whose process has not ended. */
  running(): number;
  /** Stops every worker it started: SIGTERM after `graceMs`, SIGKILL after another `graceMs`. */
  stopAll(graceMs?: number): Promise<void>;
}
