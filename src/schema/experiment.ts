/**
 * The experiment config: one zod schema, the single source of truth. The JSON Schema
 * in proto/experiment.schema.json is generated from it (`npm run proto`).
 */
import { z } from "zod";
import { slug, uint32 } from "./fields.js";
import { checkExperiment, resolvedB } from "./rules.js";
import {
  baselineSection,
  datasetSection,
  outputSection,
  rewardSection,
  searchSection,
  workersSection,
} from "./sections.js";

/** The experiment config as written by the user: field by field, before cross-field rules. */
export const experimentObjectSchema = z
  .strictObject({
    name: slug().describe("Run name; also the run directory <output.dir>/<name>/."),
    seed: uint32().default(0).describe("Seed of the search: the samples of every epoch follow from it."),
    baseline: baselineSection,
    dataset: datasetSection,
    search: searchSection,
    workers: workersSection,
    reward: rewardSection,
    output: outputSection,
  })
  .describe("An AM-LFS experiment: which baseline to train on which data, and how to search its loss.");

/** The config after per-field defaults, before `search.B` is resolved. */
export type ExperimentInput = z.output<typeof experimentObjectSchema>;

/** The full schema: fields, cross-field rules, then `search.B` resolved (1 in baseline mode). */
export const experimentSchema = experimentObjectSchema
  .superRefine(checkExperiment)
  .transform((config) => ({ ...config, search: { ...config.search, B: resolvedB(config.search) } }));

/** A validated experiment config with every default filled in. */
export type Experiment = z.output<typeof experimentSchema>;
