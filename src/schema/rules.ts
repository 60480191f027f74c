/**
 * Cross-field rules of the experiment config: what a single field's schema cannot say.
 * Each issue names its path, what was expected and what was given.
 */
import type { z } from "zod";
import { sampledCoordinates } from "../search/space-form.js";
import { CATALOG, UPSTREAM_BASELINE } from "./catalog.js";
import { closestName, optionProblems } from "./options.js";
import { BASELINES, BUILT_IN_DATASETS, DEFAULT_B, LABEL_NOISE_DATASETS, METRICS_BY_DATASET } from "./sections.js";
import type { ExperimentInput } from "./experiment.js";

type Context = z.RefinementCtx<ExperimentInput>;

/** The number of samples per epoch once defaults apply: 1 in baseline mode, else 32. */
export function resolvedB(search: ExperimentInput["search"]): number {
  return search.B ?? (search.mode === "baseline" ? 1 : DEFAULT_B);
}

/** Whether no field-level issue was raised at or under any of `paths` (dotted). */
function valid(ctx: Context, ...paths: string[]): boolean {
  return !ctx.issues.some((issue) => {
    const at = (issue.path ?? []).join(".");
    return paths.some((path) => at === path || at.startsWith(`${path}.`));
  });
}

/** Rules run only on fields that passed their own checks, so a bad field is reported once. */
export function checkExperiment(config: ExperimentInput, ctx: Context): void {
  const { search, workers, dataset, reward } = config;
  const B = resolvedB(search);

  if (search.mode === "baseline" && search.B !== undefined && search.B !== 1 && valid(ctx, "search.B")) {
    ctx.addIssue({
      code: "custom",
      path: ["search", "B"],
      message: "expected 1 (or no value) in baseline mode, which trains a single theta per epoch",
      input: search.B,
    });
  }
  if (workers.count > B && valid(ctx, "workers.count", "search.B", "search.mode")) {
    ctx.addIssue({
      code: "custom",
      path: ["workers", "count"],
      message: `expected at most search.B = ${B} (each worker runs one sample at a time)`,
      input: workers.count,
    });
  }
  if (search.init.kind === "theta" && search.init.theta.length !== 4 * search.M && valid(ctx, "search.M")) {
    ctx.addIssue({
      code: "custom",
      path: ["search", "init", "theta"],
      message: `expected 4 * search.M = ${4 * search.M} numbers`,
      input: search.init.theta,
    });
  }
  if (search.init.kind === "theta" && search.init.theta.length === 4 * search.M && valid(ctx, "search.M", "search.space")) {
    const theta = search.init.theta;
    const held = sampledCoordinates(search.space, search.M).findIndex((sampled, d) => !sampled && theta[d] !== 0);
    if (held >= 0) {
      ctx.addIssue({
        code: "custom",
        path: ["search", "init", "theta", held],
        message: `expected 0: b_tau[${held - 3 * search.M}] (index ${held}) is held at 0 under search.space "${search.space}"; use "paper" for another value`,
        input: theta[held],
      });
    }
  }
  const builtIn = BUILT_IN_DATASETS.includes(dataset.kind);
  if (!builtIn && dataset.root === "") {
    ctx.addIssue({
      code: "custom",
      path: ["dataset", "root"],
      message: `expected the directory of the ${dataset.kind} dataset (only ${BUILT_IN_DATASETS.map((kind) => JSON.stringify(kind)).join(" and ")} are built in)`,
      input: dataset.root,
    });
  }
  if (builtIn && dataset.root !== "") {
    ctx.addIssue({
      code: "custom",
      path: ["dataset", "root"],
      message: `expected "" (or no value): ${dataset.kind} is built in and reads nothing from disk`,
      input: dataset.root,
    });
  }
  if (dataset.labelNoise !== undefined && !LABEL_NOISE_DATASETS.includes(dataset.kind) && valid(ctx, "dataset.kind")) {
    ctx.addIssue({
      code: "custom",
      path: ["dataset", "labelNoise"],
      message: `expected no labelNoise for ${dataset.kind}: label noise applies to the classification datasets (${LABEL_NOISE_DATASETS.join(", ")})`,
      input: dataset.labelNoise,
    });
  }
  checkBaseline(config, ctx);
  const metrics = METRICS_BY_DATASET[dataset.kind] ?? [];
  if (!metrics.includes(reward.metric) && valid(ctx, "dataset.kind", "reward.metric")) {
    ctx.addIssue({
      code: "custom",
      path: ["reward", "metric"],
      message: `expected ${metrics.map((m) => JSON.stringify(m)).join(" or ")} for dataset ${dataset.kind}`,
      input: reward.metric,
    });
  }
}

/**
 * The baseline against proto/catalog.json: a built-in name, a dataset it runs on, and options
 * from its table. A config with its own `workers.command` runs the user's worker program,
 * which owns the name and the options.
 */
function checkBaseline(config: ExperimentInput, ctx: Context): void {
  const { baseline, dataset, workers } = config;
  if (workers.command !== undefined || !valid(ctx, "baseline.name")) return;
  const entry = CATALOG.baselines[baseline.name];
  if (entry === undefined) {
    const suggestion = closestName(baseline.name, BASELINES);
    ctx.addIssue({
      code: "custom",
      path: ["baseline", "name"],
      message:
        `expected one of ${BASELINES.map((name) => JSON.stringify(name)).join(", ")}` +
        `${suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`}, or set workers.command to run your own worker`,
      input: baseline.name,
    });
    return;
  }
  if (!entry.datasets.includes(dataset.kind) && valid(ctx, "dataset.kind")) {
    ctx.addIssue({
      code: "custom",
      path: ["dataset", "kind"],
      message: `expected a dataset that baseline ${baseline.name} runs on (${entry.datasets.join(", ")})`,
      input: dataset.kind,
    });
  }
  if (!valid(ctx, "baseline.options")) return;
  const problems = optionProblems(baseline.name, baseline.options, entry.options);
  for (const problem of problems) {
    ctx.addIssue({
      code: "custom",
      path: ["baseline", "options", problem.name],
      message: problem.message,
      input: problem.given?.value,
      params: problem.given === undefined ? { noGiven: true } : {},
    });
  }
  if (baseline.name === UPSTREAM_BASELINE && problems.length === 0) checkUpstream(config, ctx);
}

/**
 * Baseline `upstream`: an adapter and the checkout it drives are named (neither has a default),
 * and the dataset and reward metric are ones that adapter offers. The checkout on disk is the
 * preflight's (src/cli/preflight.ts).
 */
function checkUpstream(config: ExperimentInput, ctx: Context): void {
  const { baseline, dataset, reward } = config;
  const names = Object.keys(CATALOG.upstreamAdapters);
  const adapter = CATALOG.upstreamAdapters[String(baseline.options.adapter)];
  if (adapter === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["baseline", "options", "adapter"],
      message: `expected the adapter over the authors' code to run: one of ${names.map((n) => JSON.stringify(n)).join(", ")}`,
      input: baseline.options.adapter,
      params: baseline.options.adapter === undefined ? { noGiven: true } : {},
    });
    return;
  }
  if (typeof baseline.options.repo !== "string") {
    ctx.addIssue({
      code: "custom",
      path: ["baseline", "options", "repo"],
      message: `expected the folder of your checkout of ${adapter.repository} (${adapter.url}, tested at ${adapter.testedCommit.slice(0, 12)})`,
      input: baseline.options.repo,
      params: baseline.options.repo === undefined ? { noGiven: true } : {},
    });
  }
  if (!adapter.datasets.includes(dataset.kind) && valid(ctx, "dataset.kind")) {
    ctx.addIssue({
      code: "custom",
      path: ["dataset", "kind"],
      message: `expected a dataset that adapter ${String(baseline.options.adapter)} runs on (${adapter.datasets.join(", ")})`,
      input: dataset.kind,
    });
  }
  if (!adapter.rewardMetrics.includes(reward.metric) && valid(ctx, "dataset.kind", "reward.metric")) {
    ctx.addIssue({
      code: "custom",
      path: ["reward", "metric"],
      message: `expected a metric adapter ${String(baseline.options.adapter)} reports (${adapter.rewardMetrics.join(", ")})`,
      input: reward.metric,
    });
  }
}
