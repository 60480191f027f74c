/**
 * The command that starts one worker, before `--connect ...`: `python -m amlfs.worker` by
 * default, or $AMLFS_WORKER_COMMAND (a JSON array of strings, or words separated by
 * spaces) for a user's own training script that speaks the protocol.
 */
import { UsageError } from "./errors.js";

export function workerCommand(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const raw = env.AMLFS_WORKER_COMMAND;
  if (raw === undefined || raw.trim() === "") return undefined;
  if (raw.trim().startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      throw new UsageError(`AMLFS_WORKER_COMMAND: expected a JSON array of strings, got ${raw}`, null, { cause: error });
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((part) => typeof part === "string")) {
      throw new UsageError(`AMLFS_WORKER_COMMAND: expected a non-empty JSON array of strings, got ${raw}`, null);
    }
    return parsed as string[];
  }
  return raw.trim().split(/\s+/);
}
