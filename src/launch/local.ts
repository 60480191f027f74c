/**
 * The `local` launcher: one worker process per slot on this host, started with execa as
 * `python -m amlfs.worker --connect ENDPOINT --worker-id ID --run-id RUN --device D
 * --threads N` (docs/protocol.md, "Starting a worker"; the same values also go into the
 * AMLFS_* environment for user scripts). Each worker runs in its own process group, so
 * a Ctrl-C in the terminal reaches the controller only, which stops the workers in order:
 * `shutdown` (sent by the controller), then SIGTERM, then SIGKILL to the group. The
 * output of each worker goes, line by line, to logs/<worker>.log in the run directory
 * (the process handling is shared with the slurm launcher: process-launcher.ts).
 */
import { type DevicesSetting, type WorkerPlacement, detectCudaDevices, placeWorkers } from "./devices.js";
import { LaunchError } from "./errors.js";
import { ProcessLauncher, type ProcessLauncherOptions } from "./process-launcher.js";
import { resolvePython } from "./python.js";

export interface LocalLauncherOptions extends ProcessLauncherOptions {
  devices: DevicesSetting;
  threadsPerWorker?: number | undefined;
  /**
   * The program and arguments before `--connect ...`; default `[python, -m, amlfs.worker]`.
   * A function picks it per worker (`restart` 0 for the first process of a slot).
   */
  command?: string[] | ((worker: { id: string; slot: number; restart: number }) => string[]);
  /** Number of CUDA devices, when known (else detected for devices = "auto"). */
  cudaDevices?: number;
}

export class LocalLauncher extends ProcessLauncher {
  readonly #options: LocalLauncherOptions;

  constructor(options: LocalLauncherOptions) {
    super(options);
    this.#options = options;
  }

  protected async place(): Promise<WorkerPlacement[]> {
    const cuda = this.#options.devices === "auto" ? (this.#options.cudaDevices ?? (await detectCudaDevices(this.#options.env))) : 0;
    return placeWorkers(this.#options.devices, this.#options.count, cuda, { threadsPerWorker: this.#options.threadsPerWorker });
  }

  commandFor(id: string, slot: number): string[] {
    const { restart } = this.slotInfo(slot);
    const option = this.#options.command;
    const command =
      typeof option === "function"
        ? option({ id, slot, restart })
        : (option ?? [resolvePython(this.#options.env), "-m", "amlfs.worker"]);
    if (command.length === 0 || command[0] === "") throw new LaunchError(`the command of worker ${id} is empty`);
    return [...command, ...this.workerArgs(id, slot)];
  }
}
