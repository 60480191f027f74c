/**
 * The progress output from a scripted sequence of events: plain lines (CI logs), the live
 * terminal block (epoch e/E, per-worker step of steps, loss, samples/s, ETA) redrawn in
 * place, and --json lines that parse back to the events.
 */
import { describe, expect, it } from "vitest";
import { deadLossWarning } from "../../src/cli/progress/dead-warning.js";
import { JsonReporter } from "../../src/cli/progress/json.js";
import { LiveReporter } from "../../src/cli/progress/live.js";
import { formatMu, formatRewards } from "../../src/cli/progress/format.js";
import { PlainReporter, plainLine } from "../../src/cli/progress/plain.js";
import { ProgressState } from "../../src/cli/progress/progress-state.js";
import type { RunEvent, TimedEvent } from "../../src/orchestrate/events.js";

const time = "2025-01-01T00:00:00.000Z";
const events: TimedEvent[] = (
  [
    { type: "run-start", runDir: "/runs/demo", runId: "demo-1", name: "demo", epochs: 2, B: 2, W: 2, nextEpoch: 0, resumed: false, endpoint: "tcp://127.0.0.1:5555" },
    { type: "worker-up", workerId: "w0", pid: 10, host: "h", device: "cpu", threads: 1, adapter: "builtin" },
    { type: "worker-up", workerId: "w1", pid: 11, host: "h", device: "cpu", threads: 1, adapter: "builtin" },
    { type: "epoch-start", epoch: 0, epochs: 2, B: 2, start: "checkpoints/w_0000.safetensors" },
    { type: "task-start", taskId: "e0000-s00-a0", workerId: "w0", kind: "train", epoch: 0, sample: 0, attempt: 0 },
    { type: "task-start", taskId: "e0000-s01-a0", workerId: "w1", kind: "train", epoch: 0, sample: 1, attempt: 0 },
    { type: "task-progress", taskId: "e0000-s00-a0", workerId: "w0", step: 10, steps: 45, loss: 0.731, samplesPerSec: 812.5 },
    { type: "task-result", taskId: "e0000-s00-a0", workerId: "w0", kind: "train", epoch: 0, sample: 0, ok: true, reward: 0.912, reason: null, keep: true, lossStats: { examples: 1437, flooredShare: 0.3, deadShare: 0.5, meanC: 0.61, tDeadShare: 0.5, meanTSlope: 1.04 } },
    { type: "task-failed", taskId: "e0000-s01-a0", workerId: "w1", epoch: 0, sample: 1, reason: "worker w1 lost: silent for 3001 ms", requeued: true },
    { type: "epoch-end", epoch: 0, epochs: 2, rewards: [0.912, 0.5], best: 0, bestReward: 0.912, applied: true, mu: [1, 1.02, -0.4, -0.35, 1, 1, 0, -0.001], durationMs: 4000, failures: 1 },
    { type: "run-end", status: "interrupted", runDir: "/runs/demo", message: "interrupted (SIGINT)", resumable: true },
  ] as RunEvent[]
).map((event) => ({ ...event, time }) as TimedEvent);

function capture() {
  const chunks: string[] = [];
  return { out: { write: (text: string) => chunks.push(text) }, text: () => chunks.join("") };
}

describe("progress output", () => {
  it("plain: one line per lasting event, enough to follow a run in CI", () => {
    const sink = capture();
    const reporter = new PlainReporter(sink.out);
    for (const event of events) reporter.onEvent(event);
    const text = sink.text();
    expect(text).toContain("starting run demo: 2 epochs, B=2, W=2; run dir /runs/demo");
    expect(text).toContain("worker w0 up: pid 10 on h, cpu, 1 threads");
    expect(text).toContain("e0000-s00-a0 on w0: validation reward 0.9120 (best this epoch so far, kept)");
    expect(text).toContain("e0000-s01-a0 on w1 lost: worker w1 lost: silent for 3001 ms (queued again)");
    expect(text).toContain(
      "epoch 1/2 done in 4s: rewards min 0.5000 median 0.7060 max 0.9120, best sample 0\n" +
        "  mu updated: a_t 1.00..1.02  b_t -0.40..-0.35  a_tau 1.00  b_tau 0.00; 1 failure(s)\n",
    );
    expect(text).toContain("run interrupted: interrupted (SIGINT)\n  resume with: amlfs resume /runs/demo");
    expect(text).not.toContain("step 10/45"); // progress only at the last step
    expect(text).not.toContain("warning"); // half its examples dead is not "most"
  });

  it("plain and live: a worker's config error, and a failed run without a resume hint", () => {
    const failing = (
      [
        { type: "worker-fatal", workerId: "w1", kind: "config", reason: "market1501: missing folder /d/bounding_box_train", exitCode: null },
        { type: "worker-fatal", workerId: "w2", kind: "config", reason: "train.py: error: unrecognized arguments: --lr", exitCode: 2 },
        { type: "run-end", status: "failed", runDir: "/runs/demo", message: "config error reported by worker w1: market1501: missing folder /d/bounding_box_train", resumable: false },
      ] as RunEvent[]
    ).map((event) => ({ ...event, time }) as TimedEvent);
    for (const make of [(out: { write: (text: string) => unknown }) => new PlainReporter(out), (out: { write: (text: string) => unknown }) => new LiveReporter(out)]) {
      const sink = capture();
      const reporter = make(sink.out);
      for (const event of failing) reporter.onEvent(event);
      reporter.close();
      const text = sink.text();
      expect(text).toContain("worker w1 cannot run this config: market1501: missing folder /d/bounding_box_train\n");
      expect(text).toContain("worker w2 cannot run this config (exit code 2): train.py: error: unrecognized arguments: --lr\n");
      expect(text).toContain("run failed: config error reported by worker w1: market1501: missing folder /d/bounding_box_train");
      expect(text).not.toContain("resume with");
    }
  });

  it("warns after a train task whose examples were mostly dead, in the plain and the live view", () => {
    const result = (taskId: string, stats: Record<string, number> | null, kind = "train") =>
      ({ type: "task-result", taskId, workerId: "w1", kind, epoch: 3, sample: 1, ok: true, reward: 0.1, reason: null, keep: false, lossStats: stats, time }) as TimedEvent;
    const alive = { examples: 1000, flooredShare: 0, deadShare: 0, meanC: 1, tDeadShare: 0, meanTSlope: 1 };
    const floored = result("e0003-s01-a0", { ...alive, flooredShare: 0.62, deadShare: 0.87, meanC: 0.05 });
    const flatT = result("e0003-s02-a0", { ...alive, tDeadShare: 0.7, meanTSlope: 0.2 });
    const both = result("e0003-s03-a0", { ...alive, flooredShare: 0.51, deadShare: 0.51, tDeadShare: 0.999 });
    expect(deadLossWarning(floored)).toBe("warning: e0003-s01-a0 trained almost nothing: 87 % of its examples had a gradient factor below 0.01 (62 % floored)");
    expect(deadLossWarning(flatT)).toBe("warning: e0003-s02-a0 trained almost nothing: 70 % of its examples had a slope of t below 0.01 at their target cosine");
    expect(deadLossWarning(both)).toBe(
      "warning: e0003-s03-a0 trained almost nothing: 51 % of its examples had a gradient factor below 0.01 (51 % floored); 100 % had a slope of t below 0.01 at their target cosine",
    );
    // Not for a loss that trains most examples, nothing measured, an evaluation, or another event.
    for (const quiet of [
      result("a", alive),
      result("b", { ...alive, deadShare: 0.5, tDeadShare: 0.5 }),
      result("c", null),
      result("d", { ...alive, deadShare: 1 }, "evaluate"),
      events[4] as TimedEvent,
    ]) {
      expect(deadLossWarning(quiet)).toBeNull();
    }

    const plain = capture();
    const plainReporter = new PlainReporter(plain.out);
    for (const event of [floored, result("a", alive)]) plainReporter.onEvent(event);
    expect(plain.text()).toBe(
      "  e0003-s01-a0 on w1: validation reward 0.1000\n" +
        "warning: e0003-s01-a0 trained almost nothing: 87 % of its examples had a gradient factor below 0.01 (62 % floored)\n" +
        "  a on w1: validation reward 0.1000\n",
    );
    const live = capture();
    const liveReporter = new LiveReporter(live.out);
    for (const event of [...events.slice(0, 5), flatT, result("a", alive)]) liveReporter.onEvent(event);
    liveReporter.close();
    expect(live.text().match(/warning: [^\n]*/g)).toEqual([
      "warning: e0003-s02-a0 trained almost nothing: 70 % of its examples had a slope of t below 0.01 at their target cosine",
    ]);
  });

  it("live: a block with epoch, per-worker step, loss and samples/s, redrawn in place", () => {
    const sink = capture();
    const reporter = new LiveReporter(sink.out);
    for (const event of events.slice(0, 7)) reporter.onEvent(event);
    reporter.line("a log line");
    reporter.line("another log line");
    const text = sink.text();
    expect(text).toMatch(/demo {2}epoch 1\/2 {2}tasks 0\/2 {2}best - {2}elapsed \d+s {2}ETA /);
    expect(text).toContain("w0       e0000-s00-a0  step 10/45  loss 0.7310  813 samples/s");
    expect(text).toContain("w1       e0000-s01-a0  starting");
    expect(text).toContain("\x1b[3F\x1b[J"); // the 3-line block is cleared before it is drawn again
    for (const event of events.slice(7)) reporter.onEvent(event);
    // The epoch's rewards and mu, as in the plain view, above the block.
    expect(sink.text()).toContain(
      "epoch 1/2 done in 4s: rewards min 0.5000 median 0.7060 max 0.9120, best sample 0\n" +
        "  mu updated: a_t 1.00..1.02  b_t -0.40..-0.35  a_tau 1.00  b_tau 0.00; 1 failure(s)\n",
    );
    expect(sink.text()).toContain("run interrupted");
    const after = sink.text().length;
    reporter.line("summary");
    expect(sink.text().slice(after)).toBe("summary\n"); // closed: no block any more
  });

  it("epoch end: rewards as min / median / max of those scored, mu as each block's range, within 100 columns", () => {
    // An independent reading of the same numbers: sorted rewards, the middle pair's mean.
    const rewards = [0.7, null, 0.1, 0.4, 0.95];
    const sorted = [0.1, 0.4, 0.7, 0.95];
    expect(formatRewards(rewards)).toBe(`rewards (4 of 5) min 0.1000 median ${((sorted[1]! + sorted[2]!) / 2).toFixed(4)} max 0.9500`);
    expect(formatRewards([0.3, 0.1, 0.2])).toBe("rewards min 0.1000 median 0.2000 max 0.3000");
    expect(formatRewards([0.25])).toBe("reward 0.2500");
    expect(formatRewards([null, null])).toBe("no reward of 2");
    expect(formatMu([1, 1, 1, -0.4, -0.4, -0.4, 0.5, 0.75, 1.5, -0.002, 0, 0.001])).toBe("a_t 1.00  b_t -0.40  a_tau 0.50..1.50  b_tau 0.00");
    expect(formatMu([0.2, 0.1])).toBe("0.10..0.20"); // not 4M numbers: no block names

    // A long run, M = 6 spread like a CosFace start, a sample without reward and failures: still 2 lines of <= 100.
    const block = (low: number) => Array.from({ length: 6 }, (_, index) => low + 0.01 * index);
    const wide = (mu: number[], failures: number) =>
      ({
        type: "epoch-end", epoch: 119, epochs: 300, rewards: [...Array.from({ length: 31 }, (_, k) => 0.9 + k / 1000), null], best: 30,
        bestReward: 0.93, applied: true, mu, durationMs: 3_905_000, failures, time,
      }) as TimedEvent;
    const lines = (plainLine(wide([...block(0.95), ...block(-0.42), ...block(0.9), ...block(0)], 12)) as string).split("\n");
    expect(lines).toEqual([
      "epoch 120/300 done in 1h05m: rewards (31 of 32) min 0.9000 median 0.9150 max 0.9300, best sample 30",
      "  mu updated: a_t 0.95..1.00  b_t -0.42..-0.37  a_tau 0.90..0.95  b_tau 0.00..0.05; 12 failure(s)",
    ]);
    // Every block negative and spread, no failure.
    lines.push(...(plainLine(wide(block(-0.99).concat(block(-0.99), block(-0.99), block(-0.99)), 0)) as string).split("\n"));
    expect(lines[3]).toBe("  mu updated: a_t -0.99..-0.94  b_t -0.99..-0.94  a_tau -0.99..-0.94  b_tau -0.99..-0.94");
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
  });

  it("ETA: from the share of the first epoch done, then from the mean epoch time", () => {
    const state = new ProgressState(0);
    for (const event of events.slice(0, 6)) state.apply(event, 0);
    expect(state.etaMs(1000)).toBeNull(); // nothing done yet
    state.apply(events[6] as TimedEvent, 1000); // w0 at 10/45 of one of 2 tasks
    const fraction = (10 / 45) / 2;
    expect(state.etaMs(1000)).toBeCloseTo(1000 / fraction - 1000 + 1000 / fraction, 6);
    state.apply(events[9] as TimedEvent, 4000); // epoch 0 took 4000 ms; 1 epoch left
    expect(state.etaMs(4000)).toBe(4000 - 4000 + 4000);
  });

  it("json: every event on one line that parses back", () => {
    const sink = capture();
    const reporter = new JsonReporter(sink.out);
    for (const event of events) reporter.onEvent(event);
    const lines = sink.text().trim().split("\n");
    expect(lines.map((line) => JSON.parse(line))).toEqual(events);
  });
});
