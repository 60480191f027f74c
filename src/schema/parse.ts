/** Validation of an experiment config with messages that name path, expected and given. */
import { ConfigError } from "./errors.js";
import { type Experiment, experimentSchema } from "./experiment.js";
import { expectedPhrase, formatIssues } from "./format.js";

/**
 * Returns the typed config with defaults filled in, or throws a ConfigError listing
 * every problem as `<source>: <path>: expected ..., got ...`.
 */
export function parseExperiment(input: unknown, source = "config"): Experiment {
  const result = experimentSchema.safeParse(input, { error: expectedPhrase, reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(source, formatIssues(result.error.issues), { cause: result.error });
}

/**
 * A run directory's frozen config.json. A run frozen before `search.space` existed trained
 * the paper's loss as written, so a frozen search section without `space` and `tScaleGrad`
 * reads as `paper` and `full` (not today's defaults): resuming it goes on with the loss it
 * started with.
 */
export function parseFrozenExperiment(input: unknown, source = "config.json"): Experiment {
  const search = (input as { search?: unknown } | null)?.search;
  if (search === null || typeof search !== "object" || Array.isArray(search) || "space" in search || "tScaleGrad" in search) {
    return parseExperiment(input, source);
  }
  return parseExperiment({ ...(input as object), search: { ...search, space: "paper", tScaleGrad: "full" } }, source);
}
