/**
 * Start-up time: how long `amlfs search` takes before its first epoch, cut into phases,
 * and the whole demo search, so the README's times can be checked on the machine at hand.
 *
 * Each run is a real `amlfs search --json` (bin/amlfs.mjs, real Python workers) of a
 * config; the phases come from the times of its JSON events, measured from the moment the
 * process was spawned:
 *   cli        spawn -> run-start (Node.js, tsx, the config parsed, the run directory made)
 *   workers    run-start -> the first worker-up (Python started, torch and amlfs imported, hello)
 *   init       first worker-up -> checkpoint-stored of w_0 (welcome, the baseline's data and
 *              model built, w_0 packed and uploaded)
 *   to epoch 0 spawn -> epoch-start 0
 *   total      spawn -> exit
 * Beside them, the same parts measured alone: `amlfs --version` (the CLI's module load),
 * `import amlfs.worker.builtin` and building the baseline's recipe in one Python process.
 *
 *   npx tsx bench/startup.ts [--runs N] [--config PATH]... [--write]
 *
 * Defaults: 3 runs of each demo config (configs/demo/digits-baseline.json and
 * digits-amlfs.json). Prints a Markdown report; --write also saves it as
 * bench/results/startup.md.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT, resolvePython } from "../src/launch/python.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    config: { type: "string", multiple: true },
    write: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected an integer >= 1, got ${values.runs}`);
const configs = values.config ?? ["configs/demo/digits-baseline.json", "configs/demo/digits-amlfs.json"];
const BIN = join(REPO_ROOT, "bin/amlfs.mjs");

interface Phases {
  cli: number;
  workers: number;
  init: number;
  toEpoch0: number;
  total: number;
}

/** One `amlfs search --json` of `config`; the phase times in ms from the spawn. */
async function searchOnce(config: string): Promise<Phases> {
  const out = mkdtempSync(join(tmpdir(), "amlfs-startup-"));
  const spawned = Date.now();
  const child = spawn(process.execPath, [BIN, "search", config, "--json", "--out", join(out, "run")], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const firstAt = new Map<string, number>();
  let buffered = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
      const event = JSON.parse(line) as { type: string; time: string; epoch?: number };
      const key = event.type === "epoch-start" ? `epoch-start ${event.epoch}` : event.type;
      if (!firstAt.has(key)) firstAt.set(key, Date.parse(event.time));
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const ended = Date.now();
  rmSync(out, { recursive: true, force: true });
  if (code !== 0) throw new Error(`amlfs search ${config} exited ${code}: ${stderr.slice(-2000)}`);
  const at = (key: string): number => {
    const time = firstAt.get(key);
    if (time === undefined) throw new Error(`amlfs search ${config}: no ${key} event`);
    return time;
  };
  return {
    cli: at("run-start") - spawned,
    workers: at("worker-up") - at("run-start"),
    init: at("checkpoint-stored") - at("worker-up"),
    toEpoch0: at("epoch-start 0") - spawned,
    total: ended - spawned,
  };
}

/** Wall ms of a command, run to completion. */
function timed(command: string, args: string[]): number {
  const started = process.hrtime.bigint();
  const done = spawnSync(command, args, { cwd: REPO_ROOT, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (done.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${done.status}: ${done.stderr}`);
  return ms;
}

const BUILD_RECIPE = `
import json, sys, time
started = time.perf_counter()
from amlfs.baselines import build_recipe
imported = time.perf_counter()
import torch
experiment = json.load(open(sys.argv[1]))
recipe = build_recipe(experiment, torch.device("cpu"))
recipe.initialize(0)
print(json.dumps({"importMs": (imported - started) * 1e3, "buildMs": (time.perf_counter() - imported) * 1e3}))
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const range = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;

async function main(): Promise<void> {
  const python = resolvePython();
  const load = loadavg()[0] ?? 0;
  const lines: string[] = [
    "# Start-up time",
    "",
    `Command: \`npx tsx bench/startup.ts --runs ${runs}${values.config === undefined ? "" : configs.map((c) => ` --config ${c}`).join("")}\``,
    `Date: ${new Date().toISOString()}; machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown"}), ` +
      `load average at start ${load.toFixed(2)}; Node.js ${process.version}.`,
    "",
    "Milliseconds, median (min-max) of the runs. Phases are measured from the spawn of `amlfs search --json`",
    "(see the header of bench/startup.ts for what each covers).",
    "",
    "| config | cli | workers (Python + imports + hello) | init (data, model, w_0) | spawn -> epoch 0 | whole search |",
    "|---|---|---|---|---|---|",
  ];
  for (const config of configs) {
    const measured: Phases[] = [];
    for (let i = 0; i < runs; i++) measured.push(await searchOnce(config));
    const col = (key: keyof Phases) => range(measured.map((m) => m[key]));
    lines.push(`| ${config} | ${col("cli")} | ${col("workers")} | ${col("init")} | ${col("toEpoch0")} | ${col("total")} |`);
  }
  const version = Array.from({ length: runs }, () => timed(process.execPath, [BIN, "--version"]));
  const pythonStart = Array.from({ length: runs }, () => timed(python, ["-c", "pass"]));
  const workerImport = Array.from({ length: runs }, () => timed(python, ["-c", "import amlfs.worker.builtin"]));
  const recipes = Array.from({ length: runs }, () => {
    const done = spawnSync(python, ["-c", BUILD_RECIPE, join(REPO_ROOT, configs[0] as string)], { cwd: REPO_ROOT, encoding: "utf8" });
    if (done.status !== 0) throw new Error(`building the recipe failed: ${done.stderr}`);
    return JSON.parse(done.stdout) as { importMs: number; buildMs: number };
  });
  lines.push(
    "",
    "The same parts alone (ms, median (min-max)):",
    "",
    "| part | time |",
    "|---|---|",
    `| \`node bin/amlfs.mjs --version\` (Node.js, tsx, the CLI's modules) | ${range(version)} |`,
    `| \`python -c pass\` | ${range(pythonStart)} |`,
    `| \`python -c "import amlfs.worker.builtin"\` (torch and the worker) | ${range(workerImport)} |`,
    `| \`from amlfs.baselines import build_recipe\` in a fresh process | ${range(recipes.map((r) => r.importMs))} |`,
    `| build_recipe + initialize of ${configs[0]} (data and model) | ${range(recipes.map((r) => r.buildMs))} |`,
    "",
  );
  const report = lines.join("\n");
  process.stdout.write(`${report}\n`);
  if (values.write) writeFileSync(join(REPO_ROOT, "bench/results/startup.md"), `${report}\n`);
}

await main();
