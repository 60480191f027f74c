/**
 * Atomic file replacement: the bytes go to a temporary file in the same directory, are
 * fsynced, and the file is renamed over the target (then the directory is fsynced), so a
 * crash at any moment leaves either the old file or the new one, never a torn one.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { RunError } from "./errors.js";

/** Hooks for tests that simulate a crash between the steps. */
export interface AtomicWriteHooks {
  afterTempWritten?: (tempPath: string) => void | Promise<void>;
}

/**
 * Writes `path` atomically. A failure of the file system (a full or read-only disk) is a
 * RunError naming `path` and keeping the system's error (ENOSPC, EROFS) as `cause`; the
 * temporary file is removed, the old file is left as it was.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, hooks: AtomicWriteHooks = {}): Promise<void> {
  try {
    await writeSteps(path, data, hooks);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === undefined) throw error;
    throw new RunError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

async function writeSteps(path: string, data: Uint8Array | string, hooks: AtomicWriteHooks): Promise<void> {
  const directory = dirname(path);
  const temp = join(directory, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temp, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await hooks.afterTempWritten?.(temp);
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
