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
