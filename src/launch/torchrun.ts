/**
 * The `torchrun` launcher: each worker is a DDP group of `procsPerWorker` processes on this
 * host, started as
 *
 *   python -m torch.distributed.run --standalone --nnodes=1 --nproc-per-node=N
 *          -m amlfs.worker --connect ENDPOINT --worker-id ID --run-id RUN --device D --threads T
 *
 * `--standalone` gives every group its own c10d rendezvous on a free port, so groups on one
 * host never collide. Rank 0 of each group talks to the controller (it alone says hello);
 * the other ranks get the experiment, tasks and start states from it and train each epoch
 * with it (python/amlfs/worker/group.py). Devices: with CUDA devices, group g sees its own
 * N of them through CUDA_VISIBLE_DEVICES (set with `env`, before torchrun) and rank r trains
 * on cuda:r; on CPU, every process uses `threads` threads (workers.threadsPerWorker, else
 * the cores shared by all W x N processes).
 *
 * Stopping is the local launcher's (process-launcher.ts), with a longer grace per stage
 * (GROUP_STOP_GRACE_MS): `shutdown` ends rank 0, which ends its followers, and torchrun exits
 * with them; SIGTERM to torchrun makes it stop its ranks; and every rank dies with its
 * torchrun (a parent-death signal, set by the worker), so a SIGKILL leaves no orphan.
 */
import { availableParallelism } from "node:os";
import { type DevicesSetting, type WorkerPlacement, detectCudaDevices } from "./devices.js";
import { LaunchError } from "./errors.js";
import { ProcessLauncher, type ProcessLauncherOptions } from "./process-launcher.js";
import { resolvePython } from "./python.js";

/** `workers.torchrun` in the experiment config (src/schema/sections.ts). */
export interface TorchrunSettings {
  /** Processes (ranks) of each worker's DDP group; default 2. */
  procsPerWorker?: number | undefined;
}

export interface TorchrunLauncherOptions extends ProcessLauncherOptions {
  devices: DevicesSetting;
  /** Torch threads of each process; default max(1, floor(cpus / (W x procsPerWorker))). */
  threadsPerWorker?: number | undefined;
  torchrun?: TorchrunSettings;
  /**
   * The worker program and its arguments, before `--connect ...`; default
   * `[python, -m, amlfs.worker]`. Run by torchrun: `[python, -m, mod]` and `[python, script.py]`
   * run in torchrun's own Python; any other program with `--no-python`.
   */
  command?: string[];
  /** Number of CUDA devices, when known (else detected for devices = "auto"). */
  cudaDevices?: number;
  /** Available CPU cores (default os.availableParallelism()). */
  cpus?: number;
}

export const DEFAULT_PROCS_PER_WORKER = 2;

/**
 * Least wait for each stop stage (exit, SIGTERM): after rank 0 has left, torchrun notices its
 * ranks' ends and exits, N interpreters later; about 2 s on a busy 2-core machine.
 */
export const GROUP_STOP_GRACE_MS = 6000;

export class TorchrunLauncher extends ProcessLauncher {
  readonly #options: TorchrunLauncherOptions;
  /** CUDA_VISIBLE_DEVICES of each slot's group; empty on CPU. */
  #visible: string[][] = [];

  constructor(options: TorchrunLauncherOptions) {
    super(options);
    this.#options = options;
  }

  get procsPerWorker(): number {
    return this.#options.torchrun?.procsPerWorker ?? DEFAULT_PROCS_PER_WORKER;
  }

  protected async place(): Promise<WorkerPlacement[]> {
    const { count, devices: setting } = this.#options;
    const procs = this.procsPerWorker;
    if (!Number.isInteger(count) || count < 1) throw new LaunchError(`workers.count must be an integer >= 1, got ${count}`);
    if (!Number.isInteger(procs) || procs < 1) throw new LaunchError(`workers.torchrun.procsPerWorker must be an integer >= 1, got ${procs}`);
    const gpus = await this.#gpuIds(setting);
    this.#visible = Array.from({ length: count }, (_, slot) =>
      gpus.length === 0 ? [] : Array.from({ length: procs }, (_, rank) => gpus[(slot * procs + rank) % gpus.length] as string),
    );
    const cpus = this.#options.cpus ?? availableParallelism();
    const threads = this.#options.threadsPerWorker ?? Math.max(1, Math.floor(cpus / (count * procs)));
    // Each group sees its GPUs renumbered from 0; the worker puts rank r on cuda:r.
    return this.#visible.map((visible) => ({ device: visible.length > 0 ? "cuda:0" : "cpu", threads }));
  }

  /** The GPUs groups are given, as CUDA_VISIBLE_DEVICES entries; none for CPU workers. */
  async #gpuIds(setting: DevicesSetting): Promise<string[]> {
    const env = this.#options.env ?? process.env;
    const parentVisible = (env.CUDA_VISIBLE_DEVICES ?? "").split(",").map((id) => id.trim()).filter((id) => id !== "");
    // An index into what this process sees maps back to the id in its own CUDA_VISIBLE_DEVICES.
    const id = (index: number) => (env.CUDA_VISIBLE_DEVICES === undefined ? String(index) : (parentVisible[index] ?? String(index)));
    if (setting === "cpu") return [];
    if (setting === "auto") {
      const cuda = this.#options.cudaDevices ?? (await detectCudaDevices(env));
      return Array.from({ length: cuda }, (_, index) => id(index));
    }
    if (setting.length === 0) throw new LaunchError("workers.devices must name at least one device, got []");
    if (setting.every((device) => device === "cpu")) return [];
    return setting.map((device) => {
      const match = /^cuda:(\d+)$/.exec(device);
      if (match === null) throw new LaunchError(`workers.devices: launcher "torchrun" expects "cpu" or cuda:N devices, got ${JSON.stringify(device)}`);
      return id(Number(match[1]));
    });
  }

  override async stopAll(graceMs = 2000): Promise<void> {
    await super.stopAll(Math.max(graceMs, GROUP_STOP_GRACE_MS));
  }

  commandFor(id: string, slot: number): string[] {
    this.slotInfo(slot);
    const python = resolvePython(this.#options.env);
    const program = this.#options.command ?? [python, "-m", "amlfs.worker"];
    if (program.length === 0 || program[0] === "") throw new LaunchError(`the command of worker ${id} is empty`);
    const [first, ...rest] = program as [string, ...string[]];
    // torchrun runs `-m module` or a script in its own Python; anything else needs --no-python.
    const target = first === python ? rest : ["--no-python", first, ...rest];
    const visible = this.#visible[slot] ?? [];
    return [
      ...(visible.length > 0 ? ["env", `CUDA_VISIBLE_DEVICES=${visible.join(",")}`] : []),
      python,
      "-m",
      "torch.distributed.run",
      "--standalone",
      "--nnodes=1",
      `--nproc-per-node=${this.procsPerWorker}`,
      "--max-restarts=0",
      ...target,
      ...this.workerArgs(id, slot),
    ];
  }
}
