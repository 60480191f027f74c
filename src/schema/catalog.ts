/**
 * proto/catalog.json, generated from the Python registries (tools/make_catalog.py): the
 * baselines with their datasets, reward metrics and `baseline.options` tables, and the
 * dataset kinds with their on-disk layouts. Validated here once, at load; the schema
 * (sections.ts, rules.ts) and the dataset preflight (src/cli/preflight.ts) read it.
 */
import { z } from "zod";
import raw from "../../proto/catalog.json" with { type: "json" };

export const CATALOG_FILE = "proto/catalog.json";

export const OPTION_KINDS = [
  "positiveInt",
  "nonNegativeInt",
  "positiveIntOrNull",
  "positiveNumber",
  "nonNegativeNumber",
  "fraction",
  "boolean",
  "oneOf",
  "fractionsList",
  "intList",
  "epochList",
  "pathOrNull",
  "object",
] as const;

const names = z.array(z.string().min(1)).min(1);

const optionSchema = z.strictObject({
  kind: z.enum(OPTION_KINDS),
  default: z.unknown(),
  expected: z.string().min(1),
  choices: z.array(z.union([z.string(), z.number()])).min(1).optional(),
});

const layoutSchema = z.strictObject({
  /** The extracted archive's folder: `dataset.root` may be it or its parent. */
  folder: z.string().min(1).nullable(),
  entries: z
    .array(
      z.strictObject({
        names,
        kind: z.enum(["file", "directory"]),
        unlessOptions: z.array(z.string()).optional(),
      }),
    )
    .min(1),
  expected: z.string().min(1),
  fix: z.string().min(1),
});

const adapterSchema = z.strictObject({
  /** `owner/name` on GitHub. */
  repository: z.string().min(1),
  url: z.string().min(1),
  testedCommit: z.string().regex(/^[0-9a-f]{40}$/),
  /** Files (relative paths) a checkout must have. */
  files: names,
  datasets: names,
  rewardMetrics: names,
  /** Python modules the workers need beyond amlfs's own (torchvision...). */
  needs: z.array(z.string().min(1)),
});

const catalogSchema = z.strictObject({
  description: z.string(),
  baselines: z.record(
    z.string().min(1),
    z.strictObject({
      datasets: names,
      rewardMetric: z.string().min(1),
      rewardMetrics: names,
      options: z.record(z.string().min(1), optionSchema),
    }),
  ),
  datasets: z.record(
    z.string().min(1),
    z.strictObject({
      builtIn: z.boolean(),
      labelNoise: z.boolean(),
      rewardMetrics: z.array(z.string().min(1)),
      layout: layoutSchema.nullable(),
    }),
  ),
  /** The adapters of baseline `upstream` over the authors' own code (python/amlfs/upstream/). */
  upstreamAdapters: z.record(z.string().min(1), adapterSchema),
});

export type Catalog = z.output<typeof catalogSchema>;
export type OptionSpec = z.output<typeof optionSchema>;
export type DatasetLayout = z.output<typeof layoutSchema>;
export type BaselineEntry = Catalog["baselines"][string];
export type DatasetEntry = Catalog["datasets"][string];
export type UpstreamAdapter = Catalog["upstreamAdapters"][string];

/** The baseline that runs the authors' own code through an adapter (`baseline.options.adapter`). */
export const UPSTREAM_BASELINE = "upstream";

function load(input: unknown): Catalog {
  const result = catalogSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${CATALOG_FILE}: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}; run python tools/make_catalog.py`, {
      cause: result.error,
    });
  }
  const catalog = result.data;
  for (const [name, baseline] of Object.entries(catalog.baselines)) {
    const unknown = baseline.datasets.find((kind) => !(kind in catalog.datasets));
    if (unknown !== undefined) throw new Error(`${CATALOG_FILE}: baselines.${name}.datasets: unknown dataset kind ${JSON.stringify(unknown)}`);
  }
  for (const [name, adapter] of Object.entries(catalog.upstreamAdapters)) {
    const unknown = adapter.datasets.find((kind) => !(kind in catalog.datasets));
    if (unknown !== undefined) throw new Error(`${CATALOG_FILE}: upstreamAdapters.${name}.datasets: unknown dataset kind ${JSON.stringify(unknown)}`);
  }
  return catalog;
}

export const CATALOG: Catalog = load(raw);

function nonEmpty(values: readonly string[], what: string): [string, ...string[]] {
  if (values.length === 0) throw new Error(`${CATALOG_FILE}: expected at least one ${what}`);
  return values as [string, ...string[]];
}

/** The built-in baselines, in the catalog's (alphabetical) order. */
export const CATALOG_BASELINES = nonEmpty(Object.keys(CATALOG.baselines), "baseline");
export const CATALOG_DATASET_KINDS = nonEmpty(Object.keys(CATALOG.datasets), "dataset kind");
/** Every reward metric some baseline offers, in order of first appearance. */
export const CATALOG_REWARD_METRICS = nonEmpty(
  [...new Set(Object.values(CATALOG.baselines).flatMap((baseline) => baseline.rewardMetrics))],
  "reward metric",
);
