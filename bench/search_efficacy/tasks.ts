/**
 * Tasks of bench/search_efficacy.ts: a shipped config as the template, what is changed in
 * it, and how each (task, variant, seed) config is made. The data (its split seed and label
 * noise seed) stay as in the template; only the top-level `seed` varies.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { applyOverrides, type Overrides, type Variant } from "./variants.js";

export interface Task {
  id: string;
  title: string;
  /** A config under configs/, relative to the repository root. */
  template: string;
  overrides: Overrides;
}

export const TASKS: readonly Task[] = [
  {
    id: "digits20",
    title: "digits (small-cnn), 20 % label noise",
    template: "configs/demo/digits-amlfs.json",
    overrides: { "dataset.labelNoise.ratio": 0.2 },
  },
  {
    id: "digits40",
    title: "digits (small-cnn), 40 % label noise",
    template: "configs/demo/digits-amlfs.json",
    overrides: { "dataset.labelNoise.ratio": 0.4 },
  },
  {
    id: "many-class",
    title: "synthetic-classes (cosine-mlp), 1,000 classes",
    template: "configs/many-class/cosine-mlp-amlfs.json",
    overrides: {},
  },
];

/** What every run of the grid shares. */
export interface GridSettings {
  epochs: number;
  sigmaStd: number;
  B: number;
  W: number;
}

export type ConfigJson = Record<string, unknown> & {
  search: Record<string, unknown>;
  workers?: Record<string, unknown>;
};

/**
 * The config of one run: the template, then the task's changes, then the grid's settings and
 * the seed, then the variant's overrides. In baseline mode, `search.B` and `workers.count`
 * become 1 unless the variant sets them (baseline mode trains one theta per epoch).
 */
export function configFor(repoRoot: string, task: Task, variant: Variant, seed: number, settings: GridSettings): ConfigJson {
  const template = JSON.parse(readFileSync(join(repoRoot, task.template), "utf8")) as ConfigJson;
  const common: Overrides = {
    name: `${task.id}-${variant.name}-s${seed}`,
    seed,
    "search.epochs": settings.epochs,
    "search.sigmaStd": settings.sigmaStd,
    "search.B": settings.B,
    "workers.count": settings.W,
  };
  const config = applyOverrides(applyOverrides(applyOverrides(template, task.overrides), common), variant.overrides);
  if (config.search.mode === "baseline") {
    const fixes: Record<string, unknown> = {};
    if (!("search.B" in variant.overrides)) fixes["search.B"] = 1;
    if (!("workers.count" in variant.overrides)) fixes["workers.count"] = 1;
    return applyOverrides(config, fixes);
  }
  return config;
}

/** The number of classes of a config's data set (chance top-1 is its inverse), when known. */
export function classesOf(config: ConfigJson): number | undefined {
  const dataset = config.dataset as { kind?: string } | undefined;
  if (dataset?.kind === "digits") return 10;
  if (dataset?.kind === "synthetic-classes") {
    const options = (config.baseline as { options?: { classes?: number } } | undefined)?.options;
    return options?.classes ?? 1000;
  }
  return undefined;
}
