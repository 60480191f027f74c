/**
 * The `slurm` launcher: each worker is a Slurm job step started by `srun`, a child process
 * of the controller, as
 *
 *   srun --ntasks=1 --nodes=1 --job-name=amlfs-<runId>-<worker> --cpus-per-task=T
 *        [--exact] [--gpus-per-task=G] [--partition P] [--account A] [--time L] [extra]
 *        python -m amlfs.worker --connect tcp://<controller host>:<port> ...
 *
 * Inside an allocation (SLURM_JOB_ID set, e.g. under `salloc` or `sbatch`) the steps share
 * that job (`--exact`: each gets only the CPUs it asks for); outside one, each `srun`
 * allocates a one-task job for its worker. Workers connect back over TCP: the controller
 * binds tcp://0.0.0.0:* and the workers get this host's name in its place.
 *
 * Stopping: the process handling is the local launcher's (process-launcher.ts: `shutdown`,
 * SIGTERM to srun, which forwards it to the step, then SIGKILL); afterwards every job and
 * step named amlfs-<runId>-* that is still known to Slurm is `scancel`ed, and the launcher
 * waits until `squeue` no longer lists them, so no worker outlives the controller.
 */
import { hostname } from "node:os";
import { execa, execaSync } from "execa";
import type { DevicesSetting, WorkerPlacement } from "./devices.js";
import { LaunchError } from "./errors.js";
import type { LaunchContext } from "./launcher.js";
import { ProcessLauncher, type ProcessLauncherOptions, sleep } from "./process-launcher.js";
import { resolvePython } from "./python.js";

/** `workers.slurm` in the experiment config (src/schema/sections.ts). */
export interface SlurmSettings {
  partition?: string | undefined;
  account?: string | undefined;
  timeLimit?: string | undefined;
  gpusPerWorker?: number | undefined;
  controllerHost?: string | undefined;
  extraArgs?: string[] | undefined;
}

export interface SlurmLauncherOptions extends ProcessLauncherOptions {
  devices: DevicesSetting;
  /** CPUs of each step (--cpus-per-task) and the worker's torch threads; default 1. */
  threadsPerWorker?: number | undefined;
  slurm?: SlurmSettings;
  /** The program and arguments before `--connect ...`; default `[python, -m, amlfs.worker]`. */
  command?: string[];
  /** The Slurm programs (default from PATH), for sites that wrap them. */
  programs?: { srun?: string; squeue?: string; scancel?: string };
  /** Longest wait for Slurm to forget cancelled steps at stop, in ms (default 15000). */
  cancelTimeoutMs?: number;
}

const WILDCARD_HOSTS = new Set(["0.0.0.0", "*", "[::]", "::"]);

export class SlurmLauncher extends ProcessLauncher {
  readonly #options: SlurmLauncherOptions;
  readonly #programs: { srun: string; squeue: string; scancel: string };
  #runId = "";

  constructor(options: SlurmLauncherOptions) {
    super(options);
    this.#options = options;
    this.#programs = { srun: "srun", squeue: "squeue", scancel: "scancel", ...options.programs };
  }

  /** The Slurm job (or step) name of worker `id`: amlfs-<runId>-<id>. */
  jobName(id: string): string {
    return `${this.#prefix()}${id}`;
  }

  /** Whether the controller runs inside a Slurm allocation (the steps then share it). */
  inAllocation(): boolean {
    const jobId = (this.#options.env ?? process.env).SLURM_JOB_ID;
    return jobId !== undefined && jobId !== "";
  }

  protected async place(context: LaunchContext): Promise<WorkerPlacement[]> {
    this.#runId = context.runId;
    const { count, threadsPerWorker } = this.#options;
    if (!Number.isInteger(count) || count < 1) throw new LaunchError(`workers.count must be an integer >= 1, got ${count}`);
    // Slurm's GPU binding renumbers the visible devices: a step's GPU is always cuda:0.
    const device = this.#gpus() > 0 ? "cuda:0" : "cpu";
    return Array.from({ length: count }, () => ({ device, threads: threadsPerWorker ?? 1 }));
  }

  protected override workerEndpoint(context: LaunchContext): string {
    return advertisedEndpoint(context.endpoint, this.#options.slurm?.controllerHost ?? hostname());
  }

  commandFor(id: string, slot: number): string[] {
    const { placement } = this.slotInfo(slot);
    const slurm = this.#options.slurm ?? {};
    const gpus = this.#gpus();
    const program = this.#options.command ?? [resolvePython(this.#options.env), "-m", "amlfs.worker"];
    if (program.length === 0 || program[0] === "") throw new LaunchError(`the command of worker ${id} is empty`);
    return [
      this.#programs.srun,
      "--ntasks=1",
      "--nodes=1",
      `--job-name=${this.jobName(id)}`,
      `--cpus-per-task=${placement.threads}`,
      "--export=ALL",
      "--kill-on-bad-exit=1",
      ...(this.inAllocation() ? ["--exact"] : []),
      ...(gpus > 0 ? [`--gpus-per-task=${gpus}`] : []),
      ...(slurm.partition === undefined ? [] : [`--partition=${slurm.partition}`]),
      ...(slurm.account === undefined ? [] : [`--account=${slurm.account}`]),
      ...(slurm.timeLimit === undefined ? [] : [`--time=${slurm.timeLimit}`]),
      ...(slurm.extraArgs ?? []),
      ...program,
      ...this.workerArgs(id, slot),
    ];
  }

  protected override async afterTerminate(workerId: string): Promise<void> {
    await this.#cancel((name) => name === this.jobName(workerId));
  }

  override async stopAll(graceMs = 2000): Promise<void> {
    await super.stopAll(graceMs);
    if (this.#runId !== "") await this.#cancel((name) => name.startsWith(this.#prefix()));
  }

  /**
   * SIGKILL to this run's steps (`scancel --signal=KILL`), `scancel` of its jobs, then
   * SIGKILL to every srun left, synchronously (a second Ctrl-C exits right after); waits
   * up to 10 s for squeue to stop listing them.
   */
  override killNow(): void {
    if (this.#runId !== "") {
      const run = (file: string, args: string[]) => String(execaSync(file, args, { reject: false, timeout: 5000 }).stdout ?? "");
      const mine = (name: string) => name.startsWith(this.#prefix());
      let ids = this.#query(run, mine);
      if (ids.length > 0) {
        // SIGKILL to the steps while their sruns still listen (a plain scancel waits KillWait
        // after SIGTERM; a step whose srun is gone takes seconds to report its end), then cancel.
        execaSync(this.#programs.scancel, ["--signal=KILL", ...ids], { reject: false, timeout: 5000 });
        execaSync(this.#programs.scancel, ids, { reject: false, timeout: 5000 });
      }
      const pause = new Int32Array(new SharedArrayBuffer(4));
      for (let tries = 0; ids.length > 0 && tries < 50; tries += 1) {
        Atomics.wait(pause, 0, 0, 200);
        ids = this.#query(run, mine);
      }
    }
    super.killNow();
  }

  /** Slurm ids (jobs and steps) of this user whose name passes `match`. */
  async slurmIds(match: (name: string) => boolean): Promise<string[]> {
    const outputs = new Map<string, string>();
    for (const steps of [false, true]) {
      const args = squeueArgs(steps);
      const result = await execa(this.#programs.squeue, args, { reject: false, timeout: 10_000 });
      if (result.exitCode !== 0) throw new LaunchError(`${this.#programs.squeue} ${args.join(" ")} failed: ${String(result.stderr).trim()}`);
      outputs.set(args.join(" "), String(result.stdout));
    }
    return this.#query((file, args) => outputs.get(args.join(" ")) ?? "", match);
  }

  #query(run: (file: string, args: string[]) => string, match: (name: string) => boolean): string[] {
    const jobs = parseSqueue(run(this.#programs.squeue, squeueArgs(false)), match);
    const steps = parseSqueue(run(this.#programs.squeue, squeueArgs(true)), match);
    // A step of a job already being cancelled goes with it.
    return [...jobs, ...steps.filter((step) => !jobs.includes(step.split(".")[0] as string))];
  }

  /** `scancel`s the matching jobs and steps, then waits until squeue lists none of them. */
  async #cancel(match: (name: string) => boolean): Promise<void> {
    const deadline = Date.now() + (this.#options.cancelTimeoutMs ?? 15_000);
    let ids = await this.slurmIds(match);
    if (ids.length === 0) return;
    this.#options.log?.(`scancel ${ids.join(" ")} (slurm jobs/steps left by workers)`);
    await execa(this.#programs.scancel, ids, { reject: false, timeout: 10_000 });
    while (ids.length > 0) {
      if (Date.now() > deadline) throw new LaunchError(`slurm still lists ${ids.join(", ")} after scancel; cancel them by hand`);
      await sleep(200);
      ids = await this.slurmIds(match);
    }
  }

  #gpus(): number {
    const given = this.#options.slurm?.gpusPerWorker;
    if (given !== undefined) return given;
    const devices = this.#options.devices;
    return Array.isArray(devices) && devices.some((device) => device.startsWith("cuda")) ? 1 : 0;
  }

  #prefix(): string {
    return `amlfs-${this.#runId}-`;
  }
}

/** `tcp://0.0.0.0:5555` with a wildcard host replaced by `host`; other endpoints unchanged. */
export function advertisedEndpoint(endpoint: string, host: string): string {
  const match = /^tcp:\/\/(.+):(\d+|\*)$/.exec(endpoint);
  if (match === null) return endpoint;
  const [, bound, port] = match as unknown as [string, string, string];
  return WILDCARD_HOSTS.has(bound) ? `tcp://${host.includes(":") ? `[${host}]` : host}:${port}` : endpoint;
}

function squeueArgs(steps: boolean): string[] {
  return steps ? ["--me", "--steps", "--noheader", "--format=%i|%j"] : ["--me", "--noheader", "--format=%i|%j"];
}

/** Ids from `squeue --format=%i|%j` lines whose name passes `match`. */
export function parseSqueue(output: string, match: (name: string) => boolean): string[] {
  const ids: string[] = [];
  for (const line of output.split("\n")) {
    const cut = line.indexOf("|");
    if (cut < 0) continue;
    const id = line.slice(0, cut).trim();
    if (id !== "" && match(line.slice(cut + 1).trim())) ids.push(id);
  }
  return ids;
}
