/**
 * Search efficacy: does the search beat its controls?
 *
 * For each task (digits with 20 % and 40 % label noise, the 1,000-class synthetic task) and
 * each seed, runs the variants `baseline` (search.mode baseline, B = 1), `fixed` (samples
 * around mu_0, never updated) and `amlfs` at equal epochs, plus any `--variant`, each through
 * the real CLI (`npx amlfs search <config> --out <dir>`), one after the other. Reports the
 * final test top-1 per seed, mean and std per variant, paired wins / ties / losses by seed,
 * the epochs whose best validation reward was at or below chance, and the wall times.
 *
 *   npx tsx bench/search_efficacy.ts [--tasks digits20,digits40,many-class] [--seeds 1-5]
 *     [--sigma 0.2] [--epochs 20] [--variant name=NAME:key=value,...]... [--variants baseline,fixed,amlfs]
 *     [--out-dir runs/bench/search-efficacy-XXXXXX] [--write]
 *
 * --variant adds a variant of dotted config overrides (bench/search_efficacy/variants.ts),
 * e.g. `--variant name=amlfs-paper:mode=amlfs,search.space=paper`; --variants chooses the
 * built-in ones. Given the --out-dir of an interrupted grid, finished runs are read again,
 * not rerun. Prints the Markdown report; --write also saves it as bench/results/search_efficacy.md.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../src/launch/python.js";
import { parseExperiment } from "../src/schema/index.js";
import { renderReport, type TaskResults } from "./search_efficacy/report.js";
import { type RunResult, runSearch } from "./search_efficacy/runner.js";
import { parseSeeds } from "./search_efficacy/stats.js";
import { classesOf, configFor, type GridSettings, TASKS } from "./search_efficacy/tasks.js";
import { BUILT_IN_VARIANTS, describeOverrides, parseVariant, type Variant } from "./search_efficacy/variants.js";

const RESULT_FILE = "bench/results/search_efficacy.md";

function positive(flag: string, text: string, integer: boolean): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${flag}: expected a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function pick<T extends { id?: string; name?: string }>(flag: string, text: string, known: readonly T[]): T[] {
  const key = (item: T) => (item.id ?? item.name) as string;
  return text.split(",").map((name) => {
    const found = known.find((item) => key(item) === name.trim());
    if (found === undefined) throw new Error(`--${flag}: expected some of ${known.map(key).join(", ")}, got ${JSON.stringify(name)}`);
    return found;
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tasks: { type: "string", default: TASKS.map((task) => task.id).join(",") },
      seeds: { type: "string", default: "1-5" },
      sigma: { type: "string", default: "0.2" },
      epochs: { type: "string", default: "20" },
      variant: { type: "string", multiple: true, default: [] },
      variants: { type: "string", default: BUILT_IN_VARIANTS.map((variant) => variant.name).join(",") },
      "out-dir": { type: "string" },
      write: { type: "boolean", default: false },
    },
  });
  const tasks = pick("tasks", values.tasks, TASKS);
  const seeds = parseSeeds(values.seeds);
  const settings: GridSettings = {
    epochs: positive("epochs", values.epochs, true),
    sigmaStd: positive("sigma", values.sigma, false),
    B: 4,
    W: 2,
  };
  const variants: Variant[] = [...pick("variants", values.variants, BUILT_IN_VARIANTS), ...values.variant.map(parseVariant)];
  const duplicate = variants.find((variant, index) => variants.findIndex((other) => other.name === variant.name) !== index);
  if (duplicate !== undefined) throw new Error(`--variant: the name ${duplicate.name} is used twice`);

  // Every config is made and validated before the first run starts.
  const plan = tasks.flatMap((task) =>
    seeds.flatMap((seed) =>
      variants.map((variant) => {
        const config = configFor(REPO_ROOT, task, variant, seed, settings);
        parseExperiment(config, `${task.id} / ${variant.name} / seed ${seed}`);
        return { task, variant, seed, config };
      }),
    ),
  );

  const runsRoot = join(REPO_ROOT, "runs", "bench");
  mkdirSync(runsRoot, { recursive: true });
  const given = values["out-dir"];
  const outDir = given === undefined ? mkdtempSync(join(runsRoot, "search-efficacy-")) : isAbsolute(given) ? given : resolve(given);
  const shownOut = relative(REPO_ROOT, outDir).startsWith("..") ? outDir : relative(REPO_ROOT, outDir);
  process.stderr.write(`search efficacy: ${plan.length} runs into ${shownOut}\n`);

  const results = new Map<string, Map<string, Map<number, RunResult>>>();
  for (const [index, { task, variant, seed, config }] of plan.entries()) {
    const dir = join(outDir, task.id, variant.name);
    mkdirSync(dir, { recursive: true });
    const run = await runSearch(REPO_ROOT, join(dir, `seed-${seed}`), `${JSON.stringify(config, null, 2)}\n`, classesOf(config));
    const byVariant = results.get(task.id) ?? new Map<string, Map<number, RunResult>>();
    const bySeed = byVariant.get(variant.name) ?? new Map<number, RunResult>();
    bySeed.set(seed, run);
    byVariant.set(variant.name, bySeed);
    results.set(task.id, byVariant);
    const outcome = run.top1 === null ? `FAILED: ${run.error}` : `test top1 ${run.top1.toFixed(4)}`;
    process.stderr.write(
      `[${index + 1}/${plan.length}] ${task.id} ${variant.name} seed ${seed}: ${outcome}, ${run.wallS.toFixed(1)} s` +
        `${run.reused ? " (earlier run)" : ""}\n`,
    );
  }

  const taskResults: TaskResults[] = tasks.map((task) => ({
    task,
    classes: classesOf(plan.find((item) => item.task === task)?.config ?? { search: {} }),
    runs: results.get(task.id) ?? new Map(),
  }));
  const cpu = cpus();
  const report = renderReport({
    command: `npx tsx bench/search_efficacy.ts${process.argv.slice(2).map((arg) => ` ${/^[\w./=,:-]+$/.test(arg) ? arg : `'${arg}'`}`).join("")}`,
    date: new Date().toISOString(),
    machine: `${cpu[0]?.model ?? "unknown CPU"} x ${cpu.length}, Node ${process.version}`,
    outDir: shownOut,
    ...settings,
    seeds,
    variants,
    tasks: taskResults,
    describe: (variant) =>
      describeOverrides(variant.overrides) +
      (variant.overrides["search.mode"] === "baseline" ? " (B = 1, W = 1)" : ""),
  });
  process.stdout.write(report);
  if (values.write) {
    writeFileSync(join(REPO_ROOT, RESULT_FILE), report);
    process.stderr.write(`wrote ${RESULT_FILE}\n`);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`search_efficacy: ${error.message}\n`);
  process.exitCode = 2;
});
