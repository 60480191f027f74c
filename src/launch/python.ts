/**
 * Which Python runs the workers: $AMLFS_PYTHON, else the repository's .venv, else
 * `python3` from PATH. The repository's `python/` directory goes on PYTHONPATH so that
 * `python -m amlfs.worker` works even where the package is not installed.
 */
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function resolvePython(env: NodeJS.ProcessEnv = process.env, repoRoot: string = REPO_ROOT): string {
  const fromEnv = env.AMLFS_PYTHON;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const venv = join(repoRoot, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

/** PYTHONPATH with the repository's python/ first (when it exists). */
export function pythonPath(env: NodeJS.ProcessEnv = process.env, repoRoot: string = REPO_ROOT): string | undefined {
  const own = join(repoRoot, "python");
  if (!existsSync(own)) return env.PYTHONPATH;
  const rest = env.PYTHONPATH;
  return rest === undefined || rest === "" ? own : `${own}${delimiter}${rest}`;
}
