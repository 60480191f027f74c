/**
 * The run directory (docs/design.md, The run directory):
 *
 *   runs/<name>/config.json          the frozen, validated config
 *               journal.jsonl        see journal.ts
 *               checkpoints/w_NNNN.safetensors   w_0000 the initial state, w_0001 after epoch 0, ...
 *               final/model.safetensors, final/metrics.json
 *               logs/<worker>.log, logs/controller.log
 *               tmp/transfers/<worker>.<transferId>.part   uploads still arriving (transport/transfers.ts)
 *
 * Every file is written atomically; a checkpoint is verified against its sha256 when it
 * is stored and when it is loaded.
 */
import { mkdir, open, readFile, readdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type Experiment, parseFrozenExperiment } from "../schema/index.js";
import { parseJsonText } from "../schema/json-text.js";
import { sha256Hex } from "../transport/digest.js";
import { writeFileAtomic } from "./atomic.js";
import { RunError } from "./errors.js";
import { safetensorsProblem } from "./safetensors.js";

export const CONFIG_FILE = "config.json";
const LOCK_FILE = ".lock";
export const JOURNAL_FILE = "journal.jsonl";
export const DEFAULT_KEEP_CHECKPOINTS = 3;

export interface StoredCheckpoint {
  /** Path relative to the run directory, as the journal names it. */
  file: string;
  sha256: string;
  sizeBytes: number;
}

/** `checkpoints/w_0003.safetensors`: the state at the start of epoch 3. */
export function checkpointName(index: number): string {
  return `checkpoints/w_${String(index).padStart(4, "0")}.safetensors`;
}

export class RunDir {
  readonly path: string;

  private constructor(path: string) {
    this.path = resolve(path);
  }

  get journalPath(): string {
    return join(this.path, JOURNAL_FILE);
  }

  get logsDir(): string {
    return join(this.path, "logs");
  }

  /**
   * Where checkpoint uploads are written while their chunks arrive; created when first
   * needed, emptied when the run is opened (what a crash left there is never used).
   */
  get transferDir(): string {
    return join(this.path, "tmp", "transfers");
  }

  /** A new run: refuses a directory that already holds a run, writes config.json. */
  static async create(path: string, config: Experiment): Promise<RunDir> {
    const dir = new RunDir(path);
    if (await exists(join(dir.path, CONFIG_FILE))) {
      throw new RunError(`${dir.path} already holds a run; continue it with \`amlfs resume ${path}\` or pick another --out`, {
        resumable: false,
      });
    }
    await dir.#makeDirectories();
    await writeFileAtomic(join(dir.path, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
    return dir;
  }

  /** An existing run: its directory and its frozen config, validated again. */
  static async open(path: string): Promise<{ dir: RunDir; config: Experiment }> {
    const dir = new RunDir(path);
    const configPath = join(dir.path, CONFIG_FILE);
    let text: string;
    try {
      text = await readFile(configPath, "utf8");
    } catch (error) {
      throw new RunError(`${dir.path} is not a run directory: cannot read ${CONFIG_FILE}`, { resumable: false, cause: error });
    }
    const config = parseFrozenExperiment(parseJsonText(text, configPath), configPath);
    await dir.#makeDirectories();
    return { dir, config };
  }

  async #makeDirectories(): Promise<void> {
    try {
      // The run directory itself first, non-recursively: a read-only parent then says EROFS (a recursive mkdir says ENOENT).
      await mkdir(this.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return mkdir(this.path, { recursive: true });
        if (error.code !== "EEXIST") throw error;
        return undefined;
      });
      for (const sub of ["checkpoints", "final", "logs"]) await mkdir(join(this.path, sub), { recursive: true });
    } catch (error) {
      throw new RunError(`cannot create the run directory ${this.path}: ${(error as Error).message}`, { resumable: false, cause: error });
    }
  }

  /**
   * What an interrupted process left: temporary files of atomic writes and transfers.
   * Only under the lock: a live run's files look the same, and a refused second command
   * must not touch them.
   */
  async #removeLeftovers(): Promise<void> {
    await removeTempFiles(this.path);
    await removeTempFiles(join(this.path, "checkpoints"));
    await removeTempFiles(join(this.path, "final"));
    await rm(this.transferDir, { recursive: true, force: true });
  }

  /**
   * Claims the run for this process (`.lock` with its pid), so two controllers never
   * write one run. A lock left by a process that is gone (a crash) is taken over, and
   * what that process left half-written is removed. Returns the function that releases it.
   */
  async lock(): Promise<() => Promise<void>> {
    const path = join(this.path, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, "wx");
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        await this.#removeLeftovers();
        return () => rm(path, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
        if (Number.isInteger(holder) && holder !== process.pid && processExists(holder)) {
          throw new RunError(`${this.path} is in use by another amlfs process (pid ${holder})`, { resumable: false });
        }
        await rm(path, { force: true });
      }
    }
    throw new RunError(`cannot lock ${this.path}: another process keeps taking ${LOCK_FILE}`, { resumable: false });
  }

  /**
   * Writes checkpoint `index`. `sha256` was verified against the bytes on receipt
   * (transport/inbound.ts), so it is not computed again here.
   */
  async storeCheckpoint(index: number, bytes: Uint8Array, sha256: string): Promise<StoredCheckpoint> {
    const file = checkpointName(index);
    const problem = safetensorsProblem(bytes);
    if (problem !== null) throw new RunError(`the checkpoint for ${file} is not a safetensors file: ${problem}`);
    await writeFileAtomic(join(this.path, file), bytes);
    return { file, sha256, sizeBytes: bytes.byteLength };
  }

  /** Reads a checkpoint named by the journal and verifies its sha256. */
  async loadCheckpoint(checkpoint: { file: string; sha256: string }): Promise<Buffer> {
    const path = join(this.path, checkpoint.file);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new RunError(`cannot read checkpoint ${path}: ${(error as Error).message}`, { resumable: false, cause: error });
    }
    checkBytes(bytes, checkpoint.sha256, path);
    return bytes;
  }

  /** Deletes every stored checkpoint except `keep` (relative names). */
  async pruneCheckpoints(keep: readonly string[]): Promise<string[]> {
    const names = await readdir(join(this.path, "checkpoints"));
    const removed: string[] = [];
    for (const name of names) {
      const file = `checkpoints/${name}`;
      if (/^w_\d{4,}\.safetensors$/.test(name) && !keep.includes(file)) {
        await rm(join(this.path, file), { force: true });
        removed.push(file);
      }
    }
    return removed;
  }

  /** final/model.safetensors (a copy of the final checkpoint) and final/metrics.json. */
  async writeFinal(model: Uint8Array, metrics: Record<string, unknown>): Promise<{ model: string; metrics: string }> {
    await writeFileAtomic(join(this.path, "final", "model.safetensors"), model);
    await writeFileAtomic(join(this.path, "final", "metrics.json"), `${JSON.stringify(metrics, null, 2)}\n`);
    return { model: "final/model.safetensors", metrics: "final/metrics.json" };
  }
}

function checkBytes(bytes: Uint8Array, sha256: string, what: string): void {
  const actual = sha256Hex(bytes);
  if (actual !== sha256) {
    throw new RunError(`${what}: sha256 is ${actual}, expected ${sha256} (corrupt or replaced file)`, { resumable: false });
  }
  const problem = safetensorsProblem(bytes);
  if (problem !== null) throw new RunError(`${what}: not a safetensors file: ${problem}`, { resumable: false });
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Leftovers of atomic writes interrupted by a crash (`.<name>.<hex>.tmp`). */
async function removeTempFiles(directory: string): Promise<void> {
  for (const name of await readdir(directory)) {
    if (/^\..+\.[0-9a-f]{12}\.tmp$/.test(name)) await rm(join(directory, name), { force: true });
  }
}
