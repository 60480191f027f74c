/**
 * The preflight of `validate`, `search` and `resume`, after the config parses and before a run
 * directory or a worker exists: `dataset.root` holds the layout its reader needs
 * (proto/catalog.json), so a wrong path is a config error now rather than a worker's failure
 * later; likewise a baseline option naming a file (pretrained weights) that is not there, and
 * an upstream adapter's checkout without its files (./upstream-checkout.ts). No
 * Python is started; file names only, nothing is read.
 */
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { CATALOG, type DatasetLayout, UPSTREAM_BASELINE } from "../schema/catalog.js";
import { ConfigError, type ConfigProblem, type Experiment } from "../schema/index.js";
import { upstreamCheckout } from "./upstream-checkout.js";

type Entry = DatasetLayout["entries"][number];

function kindOf(path: string): "file" | "directory" | "other" | null {
  try {
    const stats = statSync(path);
    return stats.isDirectory() ? "directory" : stats.isFile() ? "file" : "other";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw error;
  }
}

const present = (base: string, entry: Entry): boolean => entry.names.some((name) => kindOf(join(base, name)) === entry.kind);

function describe(entry: Entry): string {
  const names = entry.names.map((name) => (entry.kind === "directory" ? `${name}/` : name));
  return names.length === 1 ? (names[0] as string) : `any of ${names.join(", ")}`;
}

/**
 * Problems of `config.dataset.root` on disk, resolved against `cwd` as the workers resolve it
 * (they run in the directory amlfs runs in). Built-in datasets read nothing: no problem.
 */
export function datasetRootProblems(config: Experiment, cwd: string = process.cwd()): ConfigProblem[] {
  const { kind, root } = config.dataset;
  const layout = CATALOG.datasets[kind]?.layout ?? null;
  if (layout === null || root === "") return []; // an empty root of a dataset on disk is a schema rule's error
  const path = resolve(cwd, root);
  const where = path === root ? path : `${path} (resolved from ${JSON.stringify(root)} in ${cwd})`;
  const problem = (what: string): ConfigProblem[] => [
    { path: "dataset.root", message: `expected ${layout.expected} for ${kind}: ${what}; ${layout.fix}, got ${JSON.stringify(root)}` },
  ];
  const found = kindOf(path);
  if (found === null) return problem(`${where} does not exist`);
  if (found !== "directory") return problem(`${where} is not a directory`);
  const [first] = layout.entries;
  const nested = layout.folder === null ? null : join(path, layout.folder);
  const base = nested !== null && first !== undefined && !present(path, first) && kindOf(nested) === "directory" ? nested : path;
  const options = config.baseline.options;
  const needed = layout.entries.filter((entry) => !(entry.unlessOptions ?? []).some((name) => options[name] != null));
  const missing = needed.filter((entry) => !present(base, entry));
  if (missing.length === 0) return [];
  const also = base === path && nested !== null ? ` (nor its ${layout.folder}/ folder)` : "";
  const place = base === path ? where : base;
  return problem(`${place}${also} has no ${missing.map(describe).join(", ")}`);
}

/**
 * Problems of the baseline's path options (kind `pathOrNull` in the catalog: pretrained
 * weights, LFW's folder, `pairs.txt`): a path that is set must exist, resolved as the
 * workers resolve it. A config naming its own worker program is its own business.
 */
export function pathOptionProblems(config: Experiment, cwd: string = process.cwd()): ConfigProblem[] {
  if (config.workers.command !== undefined) return [];
  const table = CATALOG.baselines[config.baseline.name]?.options ?? {};
  const problems: ConfigProblem[] = [];
  for (const [name, spec] of Object.entries(table)) {
    const value = config.baseline.options[name];
    if (spec.kind !== "pathOrNull" || typeof value !== "string") continue;
    if (config.baseline.name === UPSTREAM_BASELINE && name === "repo") continue; // a checkout: upstreamCheckout's
    const path = resolve(cwd, value);
    if (kindOf(path) !== null) continue;
    const where = path === value ? path : `${path} (resolved from ${JSON.stringify(value)} in ${cwd})`;
    problems.push({
      path: `baseline.options.${name}`,
      message: `expected an existing path or null: ${where} does not exist (set it to where the file is, or null where the baseline allows it), got ${JSON.stringify(value)}`,
    });
  }
  return problems;
}

/**
 * Throws a ConfigError naming `source` when `config`'s dataset, path options or upstream checkout
 * are not on disk as the workers need; returns warnings that do not stop a run (an upstream
 * checkout at another commit than the tested one).
 */
export function preflight(config: Experiment, source: string, cwd: string = process.cwd()): string[] {
  const checkout = upstreamCheckout(config, cwd);
  const problems = [...datasetRootProblems(config, cwd), ...pathOptionProblems(config, cwd), ...checkout.problems];
  if (problems.length > 0) throw new ConfigError(source, problems);
  return checkout.notes;
}
