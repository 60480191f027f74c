/**
 * The JSON Schema (draft 2020-12) of the experiment config, generated from the zod
 * schema for editors and for the Python side. It describes the input a user writes:
 * fields with defaults are optional. Cross-field rules (rules.ts) are not expressible
 * in it and are listed in the description instead.
 */
import { z } from "zod";
import { experimentSchema } from "./experiment.js";

export const EXPERIMENT_SCHEMA_ID = "https://amlfs.dev/schema/experiment.json";

const CROSS_FIELD_RULES =
  "Also checked when a config is loaded: search.B is 1 (or absent) in baseline mode; " +
  "workers.count <= search.B; an explicit search.init.theta has length 4 * search.M and is 0 on the coordinates " +
  "search.space holds; dataset.root is set for every dataset but the built-in digits and synthetic-classes, and " +
  "empty for those; dataset.labelNoise only on classification datasets; reward.metric suits dataset.kind; " +
  "unless workers.command names your own worker, baseline.name is a built-in baseline that runs on dataset.kind and " +
  "baseline.options follow its option table (proto/catalog.json). amlfs validate, search and resume also check that " +
  "dataset.root holds the dataset's layout.";

/** The JSON Schema as a plain object, keys in a fixed order. */
export function experimentJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(experimentSchema, { target: "draft-2020-12", io: "input" });
  const { $schema, description, ...rest } = generated as Record<string, unknown>;
  return {
    $schema,
    $id: EXPERIMENT_SCHEMA_ID,
    title: "AM-LFS experiment",
    description: `${String(description)} ${CROSS_FIELD_RULES}`,
    ...rest,
  };
}

/** Where the generated schema is committed, relative to the repository root. */
export const EXPERIMENT_SCHEMA_FILE = "proto/experiment.schema.json";
