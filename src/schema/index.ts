export { ConfigError, type ConfigProblem } from "./errors.js";
export { experimentObjectSchema, experimentSchema, type Experiment, type ExperimentInput } from "./experiment.js";
export { driftMessage, GENERATED_FILES, type GeneratedFile } from "./generated.js";
export { EXPERIMENT_SCHEMA_FILE, EXPERIMENT_SCHEMA_ID, experimentJsonSchema } from "./json-schema.js";
export { parseExperiment, parseFrozenExperiment } from "./parse.js";
export {
  BASELINES,
  DATASET_KINDS,
  DEFAULT_B,
  LAUNCHERS,
  METRICS_BY_DATASET,
  REWARD_METRICS,
  SEARCH_MODES,
} from "./sections.js";
