/**
 * The Markdown report of bench/search_efficacy.ts: per task, test top-1 per seed and variant,
 * mean and sample std per variant, the chance epochs and wall times of every run, and paired
 * comparisons by seed (wins / ties / losses, mean difference).
 */
import { formatTable } from "../../src/report/compare-rows.js";
import type { RunResult } from "./runner.js";
import { mean, paired, sampleStd } from "./stats.js";
import type { Task } from "./tasks.js";
import type { Variant } from "./variants.js";

/** How far below the same seed's baseline top-1 a run is flagged as collapsed: 1 point. */
export const COLLAPSE_POINTS = 1;

export interface TaskResults {
  task: Task;
  classes: number | undefined;
  /** variant name -> seed -> result */
  runs: ReadonlyMap<string, ReadonlyMap<number, RunResult>>;
}

const pct = (value: number) => (Number.isFinite(value) ? (value * 100).toFixed(2) : "-");
const signedPts = (value: number) => (Number.isFinite(value) ? `${value >= 0 ? "+" : ""}${(value * 100).toFixed(2)}` : "-");

/** Finished runs' top-1 by seed. */
function top1BySeed(runs: ReadonlyMap<number, RunResult> | undefined): Map<number, number> {
  return new Map([...(runs ?? [])].flatMap(([seed, run]) => (run.top1 === null ? [] : [[seed, run.top1] as [number, number]])));
}

/** Whether `run` ended more than COLLAPSE_POINTS below the baseline's top-1 on the same seed. */
export function collapsed(run: RunResult | undefined, baseline: RunResult | undefined): boolean {
  return run?.top1 != null && baseline?.top1 != null && run.top1 < baseline.top1 - COLLAPSE_POINTS / 100;
}

/** Which pairs are compared: every variant but the controls against fixed and baseline, extra ones against amlfs too. */
export function comparisons(variants: readonly Variant[]): [string, string][] {
  const names = variants.map((variant) => variant.name);
  const pairs: [string, string][] = [];
  for (const name of names.filter((n) => n !== "baseline" && n !== "fixed")) {
    for (const control of ["fixed", "baseline", ...(name === "amlfs" ? [] : ["amlfs"])]) {
      if (names.includes(control)) pairs.push([name, control]);
    }
  }
  if (names.includes("fixed") && names.includes("baseline")) pairs.push(["fixed", "baseline"]);
  return pairs;
}

function taskSection(results: TaskResults, variants: readonly Variant[], seeds: readonly number[]): string[] {
  const names = variants.map((variant) => variant.name);
  const baselineRuns = results.runs.get("baseline");
  const cell = (name: string, seed: number) => {
    const run = results.runs.get(name)?.get(seed);
    if (run === undefined) return "(not run)";
    if (run.top1 === null) return `failed (exit ${run.exitCode})`;
    return `${pct(run.top1)}${name !== "baseline" && collapsed(run, baselineRuns?.get(seed)) ? " collapsed" : ""}`;
  };
  const values = (name: string) => [...top1BySeed(results.runs.get(name)).values()];
  const collapsedCount = (name: string) =>
    name === "baseline" ? "-" : String(seeds.filter((seed) => collapsed(results.runs.get(name)?.get(seed), baselineRuns?.get(seed))).length);
  const top1Rows = [
    ...seeds.map((seed) => [String(seed), ...names.map((name) => cell(name, seed))]),
    ["mean", ...names.map((name) => pct(mean(values(name))))],
    ["std", ...names.map((name) => pct(sampleStd(values(name))))],
    ["finished", ...names.map((name) => `${values(name).length}/${seeds.length}`)],
    ["collapsed", ...names.map(collapsedCount)],
  ];

  const chance = results.classes === undefined ? "1/classes" : `1/${results.classes}`;
  const runCell = (name: string, seed: number) => {
    const run = results.runs.get(name)?.get(seed);
    if (run === undefined) return "(not run)";
    const atChance = run.epochsAtChance === null ? "?" : String(run.epochsAtChance);
    return `${atChance} of ${run.epochsDone}, ${run.wallS.toFixed(1)} s${run.reused ? " (earlier)" : ""}`;
  };
  const walls = (name: string) => [...(results.runs.get(name)?.values() ?? [])].map((run) => run.wallS);
  const runRows = [
    ...seeds.map((seed) => [String(seed), ...names.map((name) => runCell(name, seed))]),
    ["mean wall", ...names.map((name) => `${mean(walls(name)).toFixed(1)} s`)],
  ];

  const pairRows = comparisons(variants).map(([a, b]) => {
    const p = paired(top1BySeed(results.runs.get(a)), top1BySeed(results.runs.get(b)));
    return [`${a} vs ${b}`, String(p.n), String(p.wins), String(p.ties), String(p.losses), signedPts(p.meanDiff), pct(p.stdDiff)];
  });

  const failures = [...results.runs.entries()].flatMap(([name, bySeed]) =>
    [...bySeed.entries()].flatMap(([seed, run]) => (run.error === undefined ? [] : [`- ${name}, seed ${seed}: ${run.error}`])),
  );
  return [
    `## ${results.task.id}: ${results.task.title}`,
    "",
    `Template \`${results.task.template}\`${Object.keys(results.task.overrides).length > 0 ? ` with ${Object.entries(results.task.overrides).map(([k, v]) => `\`${k} = ${JSON.stringify(v)}\``).join(", ")}` : ""}.`,
    "",
    "Test top-1 (%), final model, clean test split:",
    "",
    ...formatTable(["seed", ...names], top1Rows),
    "",
    `Epochs whose best validation reward was <= chance (${chance}), of the epochs run, and wall time of the command:`,
    "",
    ...formatTable(["seed", ...names], runRows),
    "",
    "Paired by seed, test top-1 (differences in points, first minus second):",
    "",
    ...formatTable(["comparison", "seeds", "wins", "ties", "losses", "mean diff", "std diff"], pairRows),
    ...(failures.length > 0 ? ["", "Failed or unfinished runs:", "", ...failures] : []),
    "",
  ];
}

export interface ReportInput {
  command: string;
  date: string;
  machine: string;
  outDir: string;
  epochs: number;
  sigmaStd: number;
  B: number;
  W: number;
  seeds: readonly number[];
  variants: readonly Variant[];
  tasks: readonly TaskResults[];
  describe: (variant: Variant) => string;
}

export function renderReport(input: ReportInput): string {
  const lines = [
    "# Search efficacy: does the search beat its controls?",
    "",
    `Command: \`${input.command}\``,
    "",
    `Date: ${input.date}. Machine: ${input.machine}.`,
    "",
    `Each run is \`npx amlfs search <config> --out <dir>\`, one after the other. Every config is its task's template ` +
      `with the top-level \`seed\` set to the seed (${input.seeds.join(", ")}; the data, its split and its label noise ` +
      `stay fixed), \`search.epochs\` ${input.epochs}, \`search.sigmaStd\` ${input.sigmaStd}, \`search.B\` ${input.B} ` +
      `on \`workers.count\` ${input.W} CPU workers, then the variant's overrides (baseline mode: B = 1, W = 1 unless ` +
      "the variant sets them). All variants train the same number of epochs.",
    "",
    "Variants:",
    "",
    ...input.variants.map((variant) => `- \`${variant.name}\`: ${input.describe(variant)}`),
    "",
    `A run is marked *collapsed* when its test top-1 is more than ${COLLAPSE_POINTS} point below the baseline's on ` +
      "the same seed. Std: sample standard deviation over seeds (n - 1). Ties: equal top-1 (the same number of " +
      `correct test examples). Run directories, configs and logs: \`${input.outDir}\`.`,
    "",
    ...input.tasks.flatMap((task) => taskSection(task, input.variants, input.seeds)),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}
