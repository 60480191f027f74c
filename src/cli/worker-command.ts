/**
 * The command that starts one worker, before `--connect ...` (docs/plug-in.md), in this order:
 *
 * 1. $AMLFS_WORKER_COMMAND (a JSON array of strings, or words separated by spaces), for
 *    tests and one-off overrides;
 * 2. `workers.command` of the experiment, for a user's own training script that speaks
 *    the protocol; a first element `"python"` means the Python that runs the built-in
 *    worker (resolvePython: $AMLFS_PYTHON, else the repository's .venv, else python3);
 * 3. none: the launcher's built-in `python -m amlfs.worker`.
 *
 * Relative paths are left as they are: the workers run in the directory `amlfs` runs in,
 * as `dataset.root` and `output.dir` are read from it.
 */
import { resolvePython } from "../launch/python.js";
import { UsageError } from "./errors.js";

export function workerCommand(configured?: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const fromEnv = envCommand(env);
  if (fromEnv !== undefined) return fromEnv;
  if (configured === undefined || configured.length === 0) return undefined;
  const [program, ...args] = configured as [string, ...string[]];
  return [program === "python" ? resolvePython(env) : program, ...args];
}

function envCommand(env: NodeJS.ProcessEnv): string[] | undefined {
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
