/**
 * Controller overhead (docs/design.md, Budgets):
 *
 * Overhead per epoch: a real controller (src/orchestrate) drives simulated worker
 *    processes (test/helpers/fake-worker-main.ts with `instant`: a task is one copy of
 *    the start state), so the wall time of an epoch is everything but training and
 *    evaluation: dispatch, messages, the winner's upload (sha256 check, atomic write),
 *    the downloads of w_t by the workers (with their sha256 check), journal and pruning.
 *    With the real Python worker available, the digits demo is run too and the overhead
 *    of the same shape is set against its measured epochs.
 *
 * Checkpoint transfers (chunks with credit) are measured by bench/checkpoint_transfer.ts;
 * the scale of the coordination with B up to 256 by bench/scale_check.ts.
 *
 *   npx tsx bench/controller_overhead.ts [--quick] [--no-real] [--write]
 *
 * Prints a Markdown report; --write also saves it as bench/results/controller_overhead.md.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { LocalLauncher } from "../src/launch/local.js";
import { REPO_ROOT, pythonPath, resolvePython } from "../src/launch/python.js";
import { EventStream, type TimedEvent } from "../src/orchestrate/events.js";
import type { EpochRecord } from "../src/orchestrate/journal.js";
import { startRun } from "../src/orchestrate/run.js";
import { type Experiment, parseExperiment } from "../src/schema/index.js";

const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const MB = 1024 * 1024;
const FAKE = [process.execPath, "--import", "tsx", join(REPO_ROOT, "test/helpers/fake-worker-main.ts")];

interface Scenario {
  label: string;
  B: number;
  W: number;
  stateBytes: number;
  epochs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

function config(name: string, B: number, W: number, epochs: number): Experiment {
  return parseExperiment({
    name,
    seed: 1,
    baseline: { name: "small-cnn" },
    dataset: { kind: "digits" },
    search: { B, epochs, M: 6 },
    workers: { count: W, devices: "cpu", threadsPerWorker: 1, heartbeatTimeoutMs: 60_000 },
    reward: { metric: "top1" },
  });
}

/**
 * Epoch periods (ms) of a search on instant simulated workers: from one epoch-start to
 * the next (the last epoch: to the dispatch of the final evaluation, which waits for its
 * checkpoint and journal record), so writes overlapping the next epoch count too.
 */
/** Epoch periods (ms, start to start) and the controller's CPU time (ms) in each. */
function epochPeriods(events: EventStream): () => { wallMs: number[]; cpuMs: number[] } {
  const marks: { wall: number; cpu: number }[] = [];
  events.subscribe((event: TimedEvent) => {
    if (event.type === "epoch-start" || (event.type === "task-start" && event.kind === "evaluate")) {
      const usage = process.cpuUsage();
      marks.push({ wall: performance.now(), cpu: (usage.user + usage.system) / 1000 });
    }
  });
  const diffs = (key: "wall" | "cpu") => marks.slice(1).map((mark, i) => mark[key] - (marks[i] as { wall: number; cpu: number })[key]);
  return () => ({ wallMs: diffs("wall"), cpuMs: diffs("cpu") });
}

async function overhead(scenario: Scenario): Promise<{ epochMs: number[]; cpuMs: number[]; uploadMs: number[] }> {
  const out = join(mkdtempSync(join(tmpdir(), "amlfs-bench-")), "run");
  const events = new EventStream();
  const periods = epochPeriods(events);
  const behaviour = { instant: true, progressSteps: 1, stateSize: Math.round(scenario.stateBytes / 8) };
  await startRun(config("bench", scenario.B, scenario.W, scenario.epochs), out, {
    events,
    stopGraceMs: 500,
    launcher: ({ runDir }) =>
      new LocalLauncher({
        count: scenario.W,
        devices: "cpu",
        threadsPerWorker: 1,
        command: FAKE,
        logsDir: runDir.logsDir,
        env: { ...process.env, FAKE_WORKER: JSON.stringify(behaviour) },
      }),
  });
  const records = readFileSync(join(out, "journal.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as EpochRecord)
    .filter((record) => record.kind === "epoch");
  const { wallMs, cpuMs } = periods();
  return { epochMs: wallMs, cpuMs, uploadMs: records.map((record) => record.timingsMs.upload) };
}

/** The digits demo with the real worker: its epoch times (ms) and checkpoint size, or null. */
async function realDigits(): Promise<{ epochMs: number[]; stateBytes: number; B: number; W: number } | null> {
  const python = resolvePython();
  try {
    execFileSync(python, ["-c", "import amlfs.worker"], { env: { ...process.env, PYTHONPATH: pythonPath() ?? "" }, stdio: "pipe" });
  } catch {
    return null;
  }
  const demo = JSON.parse(readFileSync(join(REPO_ROOT, "configs/demo/digits-amlfs.json"), "utf8")) as { search: Record<string, unknown> };
  demo.search.epochs = quick ? 2 : 4;
  const parsed = parseExperiment(demo);
  const out = join(mkdtempSync(join(tmpdir(), "amlfs-bench-")), "run");
  const events = new EventStream();
  const periods = epochPeriods(events);
  await startRun(parsed, out, {
    events,
    launcher: ({ runDir }) =>
      new LocalLauncher({ count: parsed.workers.count, devices: "cpu", threadsPerWorker: 1, logsDir: runDir.logsDir }),
  });
  const records = readFileSync(join(out, "journal.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as EpochRecord)
    .filter((record) => record.kind === "epoch");
  return {
    epochMs: periods().wallMs,
    stateBytes: records[0]?.sizeBytes ?? 0,
    B: parsed.search.B,
    W: parsed.workers.count,
  };
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const say = (text = "") => {
    lines.push(text);
    process.stdout.write(`${text}\n`);
  };
  say("# Controller overhead");
  say();
  say(`Command: \`npx tsx bench/controller_overhead.ts${process.argv.slice(2).map((arg) => ` ${arg}`).join("")}\` (--write writes this file)`);
  say(`Machine: ${cpus()[0]?.model ?? "?"}, ${availableParallelism()} cores, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
  say();

  const real = args.has("--no-real") ? null : await realDigits();
  const scenarios: Scenario[] = [
    { label: "digits demo shape", B: real?.B ?? 4, W: real?.W ?? 2, stateBytes: real?.stateBytes ?? 300_000, epochs: quick ? 4 : 8 },
    { label: "paper B, 1 MB state", B: 32, W: 4, stateBytes: 1 * MB, epochs: quick ? 3 : 5 },
    { label: "paper B, 100 MB state", B: 32, W: 4, stateBytes: 100 * MB, epochs: quick ? 2 : 3 },
  ];
  say("## 1. Overhead per epoch (instant simulated workers)");
  say();
  say(
    "| scenario | B | W | state | epochs | overhead per epoch (start to start), median (max) | controller CPU per epoch, median | " +
      "winner upload (request to bytes in memory), median | 2 % budget holds for epochs of at least |",
  );
  say("|---|---|---|---|---|---|---|---|---|");
  const results: { scenario: Scenario; medianMs: number; cpuMs: number }[] = [];
  for (const scenario of scenarios) {
    const { epochMs, cpuMs, uploadMs } = await overhead(scenario);
    const med = median(epochMs);
    results.push({ scenario, medianMs: med, cpuMs: median(cpuMs) });
    say(
      `| ${scenario.label} | ${scenario.B} | ${scenario.W} | ${(scenario.stateBytes / MB).toFixed(2)} MB | ${epochMs.length} | ` +
        `${fmt(med)} ms (${fmt(Math.max(...epochMs))} ms) | ${fmt(median(cpuMs))} ms | ${fmt(median(uploadMs))} ms | ` +
        `${(med / 0.02 / 1000).toFixed(1)} s |`,
    );
  }
  say();
  if (real !== null) {
    const realMedian = median(real.epochMs);
    const share = ((results[0]?.medianMs ?? 0) / realMedian) * 100;
    const cpuShare = ((results[0]?.cpuMs ?? 0) / realMedian) * 100;
    say(
      `Real digits demo (configs/demo/digits-amlfs.json, Python worker, CPU): epochs of ${real.epochMs.map((ms) => fmt(ms)).join(", ")} ms ` +
        `(median ${fmt(realMedian)} ms). The overhead of the same shape is **${share.toFixed(2)} %** of its epoch in wall time ` +
        `(the controller's own CPU time: ${cpuShare.toFixed(2)} %); budget 2 %.`,
    );
  } else {
    say("Real digits demo: skipped (no Python with amlfs.worker, or --no-real).");
  }
  say();

  say("## Notes");
  say();
  say("- Overhead per epoch is the wall time from one epoch-start to the next with workers that answer at once, so it is");
  say("  everything the controller adds to an epoch: dispatch and messages, the downloads of w_t by the workers that do not");
  say("  hold it (with their sha256 check), the winner's upload (sha256 check on receipt), and the checkpoint and journal");
  say("  writes (atomic, fsynced), which overlap the next epoch. The last column is overhead / 0.02.");
  say("- Shared 2-core VM: other jobs ran at the same time, so single rounds vary; compare rows of the same run.");
  say();
  if (args.has("--write")) writeFileSync(join(REPO_ROOT, "bench/results/controller_overhead.md"), `${lines.join("\n")}\n`);
}

await main();
