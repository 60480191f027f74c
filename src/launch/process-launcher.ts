/**
 * What the process-per-worker launchers share (`local`, `slurm`, `torchrun`): each worker is one child
 * process of the controller, started with execa in its own process group, its output
 * written line by line to logs/<worker>.log, its exit reported with the last stderr lines,
 * replacements bounded by a restart budget, and stopping in order: a voluntary exit (the
 * controller has sent `shutdown`), then SIGTERM, then SIGKILL to the group. Subclasses say
 * where each slot runs (`place`) and what command line starts a worker (`commandFor`).
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { type ResultPromise, execa } from "execa";
import type { WorkerPlacement } from "./devices.js";
import { LaunchError } from "./errors.js";
import type { LaunchContext, Launcher, WorkerExit } from "./launcher.js";
import { pythonPath } from "./python.js";

export interface ProcessLauncherOptions {
  count: number;
  /** Directory of the per-worker log files. */
  logsDir: string;
  /** Replacements allowed over the whole run (default 2 per worker). */
  maxRestarts?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
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

export abstract class ProcessLauncher implements Launcher {
  readonly #base: ProcessLauncherOptions;
  readonly #children = new Map<string, Child>();
  readonly #listeners: ((exit: WorkerExit) => void)[] = [];
  #placements: WorkerPlacement[] = [];
  #context: LaunchContext | null = null;
  #restartsLeft: number;
  #restarts = new Map<number, number>();
  #stopping = false;

  constructor(options: ProcessLauncherOptions) {
    this.#base = options;
    this.#restartsLeft = options.maxRestarts ?? 2 * options.count;
  }

  /** Device and threads of each of the `count` slots, decided once at start. */
  protected abstract place(context: LaunchContext): Promise<WorkerPlacement[]>;

  /** The full command line of worker `id` in `slot` (for logs and tests). */
  abstract commandFor(id: string, slot: number): string[];

  /** The endpoint workers connect to: the controller's own by default. */
  protected workerEndpoint(context: LaunchContext): string {
    return context.endpoint;
  }

  /** Called after a worker was stopped by the launcher (replace or stopAll), exited or not. */
  protected async afterTerminate(_workerId: string): Promise<void> {}

  /** The context and placement of `slot`; throws before `start`. */
  protected slotInfo(slot: number): { context: LaunchContext; placement: WorkerPlacement; restart: number } {
    const context = this.#context;
    const placement = this.#placements[slot];
    if (context === null || placement === undefined) throw new LaunchError("the launcher has not been started");
    return { context, placement, restart: this.#restarts.get(slot) ?? 0 };
  }

  /** `--connect ... --threads N`: the worker's arguments after its program (docs/protocol.md). */
  protected workerArgs(id: string, slot: number): string[] {
    const { context, placement } = this.slotInfo(slot);
    return [
      "--connect",
      this.workerEndpoint(context),
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
    this.#placements = await this.place(context);
    mkdirSync(this.#base.logsDir, { recursive: true });
    return this.#placements.map((_, slot) => this.#spawn(`w${slot}`, slot));
  }

  onExit(listener: (exit: WorkerExit) => void): void {
    this.#listeners.push(listener);
  }

  replace(workerId: string): string | null {
    const old = this.#children.get(workerId);
    if (old === undefined || this.#stopping) return null;
    if (!old.exited) {
      void this.#terminate(old, 2000).catch((error: unknown) => this.#base.log?.(`stopping worker ${workerId}: ${(error as Error).message}`));
    }
    if (this.#restartsLeft <= 0) return null;
    this.#restartsLeft -= 1;
    const count = (this.#restarts.get(old.slot) ?? 0) + 1;
    this.#restarts.set(old.slot, count);
    return this.#spawn(`w${old.slot}-r${count}`, old.slot);
  }

  running(): number {
    return [...this.#children.values()].filter((child) => !child.exited).length;
  }

  /** Process ids of the worker processes (on this host) still running. */
  pids(): number[] {
    return [...this.#children.values()].filter((c) => !c.exited && c.process.pid !== undefined).map((c) => c.process.pid as number);
  }

  /** Ids of every worker started so far, running or not. */
  workerIds(): string[] {
    return [...this.#children.keys()];
  }

  async stopAll(graceMs = 2000): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#children.values()].filter((child) => !child.exited).map((child) => this.#terminate(child, graceMs)));
  }

  /** SIGKILL to every worker's process group at once, synchronously (a second Ctrl-C). */
  killNow(): void {
    for (const pid of this.pids()) signalGroup(pid, "SIGKILL");
  }

  /** Waits for a voluntary exit, then SIGTERM, then SIGKILL, each after `graceMs`. */
  async #terminate(child: Child, graceMs: number): Promise<void> {
    for (const signal of [null, "SIGTERM", "SIGKILL"] as const) {
      if (child.exited) break;
      if (signal !== null && child.process.pid !== undefined) signalGroup(child.process.pid, signal);
      // The timer is cleared once the worker exits: left pending, it would keep `amlfs` alive for the rest of the grace.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([child.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    await this.afterTerminate(child.id);
  }

  #spawn(id: string, slot: number): string {
    const [file, ...args] = this.commandFor(id, slot) as [string, ...string[]];
    const { context, placement } = this.slotInfo(slot);
    const log = createWriteStream(join(this.#base.logsDir, `${id}.log`), { flags: "a" });
    const env: NodeJS.ProcessEnv = {
      ...(this.#base.env ?? process.env),
      AMLFS_CONNECT: this.workerEndpoint(context),
      AMLFS_WORKER_ID: id,
      AMLFS_RUN_ID: context.runId,
      AMLFS_DEVICE: placement.device,
      AMLFS_THREADS: String(placement.threads),
      PYTHONUNBUFFERED: "1",
    };
    if (context.curveKeysFor !== undefined) env.AMLFS_CURVE_KEYS = context.curveKeysFor(id);
    const path = pythonPath(this.#base.env);
    if (path !== undefined) env.PYTHONPATH = path;
    const process_ = execa(file, args, { ...SPAWN_OPTIONS, env, cwd: this.#base.cwd ?? process.cwd() });
    const child: Child = { id, slot, process: process_, done: Promise.resolve(), exited: false, stderrTail: [] };
    this.#children.set(id, child);
    log.on("error", (error) => this.#base.log?.(`cannot write logs/${id}.log: ${error.message}`));
    forwardLines(process_.stdout, log, () => {});
    forwardLines(process_.stderr, log, (line) => {
      child.stderrTail.push(line);
      if (child.stderrTail.length > STDERR_TAIL) child.stderrTail.shift();
    });
    this.#base.log?.(`started worker ${id} (${placement.device}, ${placement.threads} threads): ${[file, ...args].join(" ")}`);
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

function signalGroup(pid: number, signal: NodeJS.Signals): void {
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
