/**
 * Scale check (issue 6): the controller's coordination overhead per epoch with B = 4,
 * 16, 64 and 256 samples on W = B light simulated workers, for checkpoints of a few
 * bytes, 1 MB and 16 MB.
 *
 * The workers are test/helpers/fake-worker.ts in this process (`instant`: a task costs
 * nothing; 256 worker processes would measure the scheduler of a 2-core machine), each
 * with its own ZeroMQ DEALER on the controller's real TCP socket. An epoch with such
 * workers is pure coordination: B tasks dispatched and answered (`task`, `progress`,
 * `result`, `keep`), the winner's upload (chunks with credit, sha256, temporary file), the
 * W - 1 downloads of w_t by the workers that do not hold it (chunks with credit, each
 * written, read back and hashed by its worker), and the checkpoint and journal writes.
 * Because the workers share the process, the CPU column is controller and workers
 * together: an upper bound of the controller's own.
 *
 *   npx tsx bench/scale_check.ts [--quick] [--write]
 *
 * Prints a Markdown table; --write also saves it as bench/results/scale_check.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../src/launch/python.js";
import { EventStream, type TimedEvent } from "../src/orchestrate/events.js";
import { startRun } from "../src/orchestrate/run.js";
import { type Experiment, parseExperiment } from "../src/schema/index.js";
import { FakeWorker } from "../test/helpers/fake-worker.js";

const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const MB = 1024 * 1024;
const BS = [4, 16, 64, 256];
const STATES = [
  { label: "tiny (0.5 KB)", bytes: 512 },
  { label: "1 MB", bytes: MB },
  { label: "16 MB", bytes: 16 * MB },
];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

function config(B: number, epochs: number): Experiment {
  return parseExperiment({
    name: `scale-b${B}`,
    seed: 1,
    baseline: { name: "small-cnn" },
    dataset: { kind: "digits" },
    search: { B, epochs, M: 6 },
    workers: { count: B, devices: "cpu", threadsPerWorker: 1, heartbeatTimeoutMs: 120_000 },
    reward: { metric: "top1" },
  });
}

interface Measured {
  /** Epoch periods, start to start (the last: to the dispatch of the final evaluation), ms. */
  wallMs: number[];
  /** CPU time of this process (controller and in-process workers) in each period, ms. */
  cpuMs: number[];
  /** Messages the controller received in the run (all kinds), per epoch on average. */
  messagesPerEpoch: number;
}

async function measure(B: number, stateBytes: number, epochs: number): Promise<Measured> {
  const root = mkdtempSync(join(tmpdir(), "amlfs-scale-"));
  const events = new EventStream();
  const marks: { wall: number; cpu: number }[] = [];
  let messages = 0;
  events.subscribe((event: TimedEvent) => {
    if (event.type === "epoch-start" || (event.type === "task-start" && event.kind === "evaluate")) {
      const usage = process.cpuUsage();
      marks.push({ wall: performance.now(), cpu: (usage.user + usage.system) / 1000 });
    }
    if (event.type === "task-progress" || event.type === "task-result") messages += 1;
  });
  const workers: FakeWorker[] = [];
  try {
    await startRun(config(B, epochs), join(root, "run"), {
      events,
      launcher: () => null,
      heartbeatIntervalMs: 1000,
      stopGraceMs: 500,
      onEndpoint: (endpoint, runId) => {
        for (let i = 0; i < B; i++) {
          workers.push(new FakeWorker({ endpoint, runId, workerId: `w${i}`, instant: true, progressSteps: 1, stateSize: Math.round(stateBytes / 8), heartbeatMs: 1000 }));
        }
      },
    });
  } finally {
    await Promise.all(workers.map((worker) => worker.close()));
    rmSync(root, { recursive: true, force: true });
  }
  const diffs = (key: "wall" | "cpu") => marks.slice(1).map((mark, i) => mark[key] - (marks[i] as { wall: number; cpu: number })[key]);
  return { wallMs: diffs("wall"), cpuMs: diffs("cpu"), messagesPerEpoch: messages / epochs };
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const say = (text = "") => {
    lines.push(text);
    process.stdout.write(`${text}\n`);
  };
  say("# Scale check: coordination overhead per epoch, B = W from 4 to 256");
  say();
  say(`Command: \`npx tsx bench/scale_check.ts${process.argv.slice(2).map((arg) => ` ${arg}`).join("")}\` (--write writes this file)`);
  say(`Machine: ${cpus()[0]?.model ?? "?"}, ${availableParallelism()} cores, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
  say("Workers: W = B simulated workers in the controller's process (test/helpers/fake-worker.ts, `instant`), one ZeroMQ");
  say("DEALER each on the controller's TCP socket; chunks of 4 MiB, window 4 (the defaults).");
  say();
  say("| state | B = W | epochs | overhead per epoch, median (max) | per task | CPU per epoch (controller + workers) | w_t served per epoch | progress + result messages per epoch |");
  say("|---|---|---|---|---|---|---|---|");
  const growth: string[] = [];
  for (const state of STATES) {
    const medians: number[] = [];
    for (const B of BS) {
      const epochs = quick ? 2 : state.bytes >= 16 * MB && B >= 64 ? 3 : 5;
      const { wallMs, cpuMs, messagesPerEpoch } = await measure(B, state.bytes, epochs);
      const med = median(wallMs);
      medians.push(med);
      const served = ((B - 1) * state.bytes) / MB;
      say(
        `| ${state.label} | ${B} | ${wallMs.length} | ${fmt(med)} ms (${fmt(Math.max(...wallMs))} ms) | ${(med / B).toFixed(2)} ms | ` +
          `${fmt(median(cpuMs))} ms | ${served >= 1 ? `${served.toFixed(0)} MB` : `${((B - 1) * state.bytes / 1024).toFixed(1)} KB`} | ${messagesPerEpoch.toFixed(0)} |`,
      );
    }
    const first = medians[0] as number;
    const last = medians.at(-1) as number;
    const rate = state.bytes >= MB ? `; w_t served at ${(((BS.at(-1) as number) - 1) * state.bytes / MB / (last / 1000)).toFixed(0)} MB/s at B = ${BS.at(-1)}` : "";
    growth.push(`- ${state.label}: x${(last / first).toFixed(1)} from B = ${BS[0]} to ${BS.at(-1)} (B x${(BS.at(-1) as number) / (BS[0] as number)})${rate}.`);
  }
  say();
  say("## How it grows");
  say();
  say("Overhead per epoch, B = W from the first to the last row of each state:");
  say();
  for (const line of growth) say(line);
  say();
  say("- Per epoch the controller handles B tasks (task, progress, result, keep: about 1 ms per task here) plus fixed");
  say("  costs (the winner's upload, the checkpoint and journal writes, fsynced): with tiny states the fixed part");
  say("  amortizes and the cost per task falls as B grows.");
  say("- With real states the W - 1 downloads of w_t dominate: every worker but the winner's fetches the new state each");
  say("  epoch, so the overhead grows with (W - 1) x state size, i.e. linearly in W at a fixed state. Here the workers");
  say("  share the controller's 2 cores and write, read back and hash their copies on them, so these rows are an upper");
  say("  bound; with workers on their own hosts the controller's share is sending the bytes (network-bound).");
  say("- The 2 % budget of docs/design.md (Budgets) then needs epochs of at least 50x the overhead of the matching row.");
  say();
  if (args.has("--write")) writeFileSync(join(REPO_ROOT, "bench/results/scale_check.md"), `${lines.join("\n")}\n`);
}

await main();
