/**
 * The `local` launcher: one worker process per slot on this host, started with execa as
 * `python -m amlfs.worker --connect ENDPOINT --worker-id ID --run-id RUN --device D
 * --threads N` (docs/protocol.md, "Starting a worker"; the same values also go into the
 * AMLFS_* environment for user scripts). Each worker runs in its own process group, so
 * a Ctrl-C in the terminal reaches the controller only, which stops the workers in order:
 * `shutdown` (sent by the controller), then SIGTERM, then SIGKILL to the group. The
 * output of each worker goes, line by line, to logs/<worker>.log in the run directory.
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { type ResultPromise, execa } from "execa";
import { type DevicesSetting, type WorkerPlacement, detectCudaDevices, placeWorkers } from "./devices.js";
import { LaunchError } from "./errors.js";
import type { LaunchContext, Launcher, WorkerExit } from "./launcher.js";
import { pythonPath, resolvePython } from "./python.js";

export interface LocalLauncherOptions {
  count: number;
  devices: DevicesSetting;
  threadsPerWorker?: number | undefined;
  /**
   * The program and arguments before `--connect ...`; default `[python, -m, amlfs.worker]`.
   * A function picks it per worker (`restart` 0 for the first process of a slot).
   */
  command?: string[] | ((worker: { id: string; slot: number; restart: number }) => string[]);
  /** Directory of the per-worker log files. */
  logsDir: string;
  /** Replacements allowed over the whole run (default 2 per worker). */
  maxRestarts?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Number of CUDA devices, when known (else detected for devices = "auto"). */
  cudaDevices?: number;
  log?: (line: string) => void;
}

interface Child {
  id: string;
  slot: number;
  process: ResultPromise<typeof SPAWN_OPTIONS>;
  done: Promise<void>;
  exited: boolean;
  stderrTail: string[];
}

const STDERR_TAIL = 8;
const SPAWN_OPTIONS = { reject: false, buffer: false, detached: true, cleanup: false, stdin: "ignore", extendEnv: false } as const;

export class LocalLauncher implements Launcher {
  readonly #options: LocalLauncherOptions;
  readonly #children = new Map<string, Child>();
  readonly #listeners: ((exit: WorkerExit) => void)[] = [];
  #placements: WorkerPlacement[] = [];
  #context: LaunchContext | null = null;
  #restartsLeft: number;
  #restarts = new Map<number, number>();
  #stopping = false;

  constructor(options: LocalLauncherOptions) {
    this.#options = options;
    this.#restartsLeft = options.maxRestarts ?? 2 * options.count;
  }

  /** The command line of worker `id` in `slot` (for logs and tests). */
  commandFor(id: string, slot: number): string[] {
    const context = this.#context;
    const placement = this.#placements[slot];
    if (context === null || placement === undefined) throw new LaunchError("the launcher has not been started");
    const option = this.#options.command;
    const restart = this.#restarts.get(slot) ?? 0;
    const command =
      typeof option === "function"
        ? option({ id, slot, restart })
        : (option ?? [resolvePython(this.#options.env), "-m", "amlfs.worker"]);
    if (command.length === 0 || command[0] === "") throw new LaunchError(`the command of worker ${id} is empty`);
    return [
      ...command,
      "--connect",
      context.endpoint,
      "--worker-id",
      id,
      "--run-id",
      context.runId,
      "--device",
      placement.device,
      "--threads",
      String(placement.threads),
    ];
  }

  async start(context: LaunchContext): Promise<string[]> {
    this.#context = context;
    const cuda = this.#options.devices === "auto" ? (this.#options.cudaDevices ?? (await detectCudaDevices(this.#options.env))) : 0;
    this.#placements = placeWorkers(this.#options.devices, this.#options.count, cuda, {
      threadsPerWorker: this.#options.threadsPerWorker,
    });
    mkdirSync(this.#options.logsDir, { recursive: true });
    return this.#placements.map((_, slot) => this.#spawn(`w${slot}`, slot));
  }

  onExit(listener: (exit: WorkerExit) => void): void {
    this.#listeners.push(listener);
  }

  replace(workerId: string): string | null {
    const old = this.#children.get(workerId);
    if (old === undefined || this.#stopping) return null;
    if (!old.exited) void this.#terminate(old, 2000);
    if (this.#restartsLeft <= 0) return null;
    this.#restartsLeft -= 1;
    const count = (this.#restarts.get(old.slot) ?? 0) + 1;
    this.#restarts.set(old.slot, count);
    return this.#spawn(`w${old.slot}-r${count}`, old.slot);
  }

  running(): number {
    return [...this.#children.values()].filter((child) => !child.exited).length;
  }

  /** Process ids of the workers still running. */
  pids(): number[] {
    return [...this.#children.values()].filter((c) => !c.exited && c.process.pid !== undefined).map((c) => c.process.pid as number);
  }

  async stopAll(graceMs = 2000): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#children.values()].filter((child) => !child.exited).map((child) => this.#terminate(child, graceMs)));
  }

  /** Waits for a voluntary exit, then SIGTERM, then SIGKILL, each after `graceMs`. */
  async #terminate(child: Child, graceMs: number): Promise<void> {
    for (const signal of [null, "SIGTERM", "SIGKILL"] as const) {
      if (child.exited) return;
      if (signal !== null) signalGroup(child, signal);
      await Promise.race([child.done, sleep(graceMs)]);
    }
  }

  #spawn(id: string, slot: number): string {
    const [file, ...args] = this.commandFor(id, slot) as [string, ...string[]];
    const context = this.#context as LaunchContext;
    const placement = this.#placements[slot] as WorkerPlacement;
    const log = createWriteStream(join(this.#options.logsDir, `${id}.log`), { flags: "a" });
    const env: NodeJS.ProcessEnv = {
      ...(this.#options.env ?? process.env),
      AMLFS_CONNECT: context.endpoint,
      AMLFS_WORKER_ID: id,
      AMLFS_RUN_ID: context.runId,
      AMLFS_DEVICE: placement.device,
      AMLFS_THREADS: String(placement.threads),
      PYTHONUNBUFFERED: "1",
    };
    const path = pythonPath(this.#options.env);
    if (path !== undefined) env.PYTHONPATH = path;
    const process_ = execa(file, args, { ...SPAWN_OPTIONS, env, cwd: this.#options.cwd ?? process.cwd() });
    const child: Child = { id, slot, process: process_, done: Promise.resolve(), exited: false, stderrTail: [] };
    this.#children.set(id, child);
    log.on("error", (error) => this.#options.log?.(`cannot write logs/${id}.log: ${error.message}`));
    forwardLines(process_.stdout, log, () => {});
    forwardLines(process_.stderr, log, (line) => {
      child.stderrTail.push(line);
      if (child.stderrTail.length > STDERR_TAIL) child.stderrTail.shift();
    });
    this.#options.log?.(`started worker ${id} (${placement.device}, ${placement.threads} threads): ${[file, ...args].join(" ")}`);
    child.done = process_.then((result) => {
      child.exited = true;
      if (result.failed && result.exitCode === undefined && result.signal === undefined) {
        child.stderrTail.push(result.shortMessage ?? String(result.message));
      }
      log.end();
      const exit: WorkerExit = {
        workerId: id,
        code: result.exitCode ?? null,
        signal: result.signal ?? null,
        lastStderr: [...child.stderrTail],
      };
      for (const listener of this.#listeners) listener(exit);
    });
    return id;
  }
}

function signalGroup(child: Child, signal: NodeJS.Signals): void {
  const pid = child.process.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

function forwardLines(stream: NodeJS.ReadableStream | null | undefined, log: WriteStream, onLine: (line: string) => void): void {
  if (stream === null || stream === undefined) return;
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      if (log.writable) log.write(`${line}\n`);
      onLine(line);
    }
  });
  stream.on("end", () => {
    if (rest !== "") {
      if (log.writable) log.write(`${rest}\n`);
      onLine(rest);
    }
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
