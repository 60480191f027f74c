/** The one error type of the schema layer: a config (or message) that failed validation. */

export interface ConfigProblem {
  /** Dotted path of the offending field, like `search.B` or `workers.devices[0]`. */
  path: string;
  /** What was expected and what was given: `expected an integer >= 1, got 0`. */
  message: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** Where the config came from (a file path, or a label). */
  readonly source: string;
  readonly problems: readonly ConfigProblem[];

  constructor(source: string, problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    const lines = problems.map((problem) => `  ${source}: ${problem.path}: ${problem.message}`);
    super([`invalid experiment config (${count}):`, ...lines].join("\n"), options);
    this.source = source;
    this.problems = problems;
  }
}
