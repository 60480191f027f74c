/**
 * `amlfs` as a user runs it: a real process, real worker processes (the TypeScript fake
 * worker through AMLFS_WORKER_COMMAND), real sockets. Help and exit codes, validate,
 * search with --json and plain output, resume of a finished run, Ctrl-C / SIGTERM mid-run
 * and during start-up (exit 130 / 143, promptly, no worker left, resumable), and a
 * controller SIGKILLed at several moments then resumed to the same final mu and checkpoint
 * as an uninterrupted run. Signals and kills are sent on events of the run's --json output.
 */
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkFinishedRun, readJournal } from "../helpers/check-journal.js";
import { followJsonLines } from "../helpers/json-lines.js";
import { scaled } from "../helpers/load.js";
import { pidsWithArgument } from "../helpers/processes.js";
import { waitFor } from "../transport/wait.js";
import { main } from "../../src/cli/main.js";
import { alive, amlfs, writeConfig } from "./cli-process.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

/** From a signal to the exit of `amlfs search` on an idle machine: the workers' 2 s grace, and closing. */
const PROMPT_EXIT_MS = 5_000;

const outDir = () => join(mkdtempSync(join(tmpdir(), "amlfs-cli-run-")), "run");
const jsonLines = (text: string) => text.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
const packageVersion = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** `main` in this process, its output captured (usage paths start no worker). */
async function inProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

describe("amlfs: usage", () => {
  it("runs from bin/amlfs.mjs: --version and a command's --help", async () => {
    const version = await amlfs(["--version"]);
    expect(version.exitCode).toBe(0);
    expect(version.stdout.trim()).toBe(packageVersion);
    const help = await amlfs(["search", "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("Usage: amlfs search <config.json>");
  });

  it("prints help with the exit codes", async () => {
    for (const args of [["--help"], ["search", "--help"], ["resume", "-h"], ["validate", "--help"]]) {
      const result = await inProcess(args);
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.out).toContain("Exit codes:");
      expect(result.out).toMatch(/1 +the run failed/);
      expect(result.out).toMatch(/2 +usage or config error/);
      expect(result.out).toMatch(/130 +interrupted by SIGINT/);
      expect(result.out).toMatch(/143 +terminated by SIGTERM/);
    }
  });

  it("exits 2 on usage errors, naming the problem", async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage:/],
      [["frobnicate"], /unknown command "frobnicate"/],
      [["search"], /search: expected a config file/],
      [["search", "a.json", "b.json"], /unexpected argument "b.json"/],
      [["search", "a.json", "--bogus"], /Unknown option '--bogus'/],
      [["validate", "a.json", "--json"], /Unknown option '--json'/],
      [["search", "a.json", "--workers", "zero"], /--workers: expected an integer >= 1, got "zero"/],
      [["resume", "/nonexistent/run"], /not a run directory/],
      [["search", writeConfig(), "--workers", "9"], /workers\.count: expected at most search\.B = 3/],
      [["search", writeConfig({ workers: { count: 1, heartbeatTimeoutMs: 50 } }), "--out", join(mkdtempSync(join(tmpdir(), "amlfs-hb-")), "run")],
        /workers\.heartbeatTimeoutMs: expected at least 2000 \(two heartbeat intervals of 1000 ms\), got 50/],
    ];
    for (const [args, message] of cases) {
      const result = await inProcess(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.out + result.err).toMatch(message);
    }
  });

  it("validate prints the config with defaults, or every problem (exit 2)", async () => {
    const good = await inProcess(["validate", writeConfig()]);
    expect(good.code).toBe(0);
    const config = JSON.parse(good.out) as { search: { sigmaStd: number; lr: number }; workers: { launcher: string } };
    expect(config.search.sigmaStd).toBe(0.2);
    expect(config.workers.launcher).toBe("local");
    const path = writeConfig({ search: { B: 0, epochs: 1 }, workers: { count: 2, heartbeatTimeoutMs: "soon" } });
    const bad = await inProcess(["validate", path]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`${path}: search.B: expected an integer in [1, 4096], got 0`);
    expect(bad.err).toContain("workers.heartbeatTimeoutMs");
    const missing = await inProcess(["validate", "/nonexistent.json"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("/nonexistent.json");
  });
});

describe("amlfs search / resume with worker processes", () => {
  it("runs a search with --json (one event per line), refuses to overwrite it, and resume says it is finished", async () => {
    const out = outDir();
    const result = await amlfs(["search", writeConfig(), "--out", out, "--json", "--workers", "2"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const events = jsonLines(result.stdout);
    const types = events.map((event) => event.type);
    expect(types[0]).toBe("run-start");
    expect(types.filter((type) => type === "epoch-end")).toHaveLength(3);
    // Both workers are started; the second may connect only after this quick run is over.
    expect(types.filter((type) => type === "worker-up").length).toBeGreaterThanOrEqual(1);
    const started = readFileSync(join(out, "logs", "controller.log"), "utf8").match(/started worker w\d /g) ?? [];
    expect(started.sort()).toEqual(["started worker w0 ", "started worker w1 "]);
    expect(types.at(-2)).toBe("run-end");
    expect(events.at(-1)).toMatchObject({ type: "summary", status: "finished", runDir: out });
    checkFinishedRun(out);
    expect(readFileSync(join(out, "logs", "w0.log"), "utf8")).toContain("fake worker w0");

    const again = await amlfs(["search", writeConfig(), "--out", out]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(`amlfs resume ${out}`);

    const resumed = await amlfs(["resume", out]);
    expect(resumed.exitCode).toBe(0);
    expect(resumed.stdout).toContain("already finished");
    expect(resumed.stdout).toMatch(/final test metrics: top1/);

    // compare: the final test metrics of the journal's final record, and "(not finished)"
    // (exit 1) for a copy whose journal stops before the final record.
    const lines = readFileSync(join(out, "journal.jsonl"), "utf8").trim().split("\n");
    const final = JSON.parse(lines.at(-1) as string) as { kind: string; metrics: { top1: number } };
    expect(final.kind).toBe("final");
    const unfinished = outDir();
    cpSync(out, unfinished, { recursive: true });
    writeFileSync(join(unfinished, "journal.jsonl"), `${lines.slice(0, -1).join("\n")}\n`);
    const compared = await inProcess(["compare", out, unfinished]);
    expect(compared.code).toBe(1);
    const rows = compared.out.trim().split("\n");
    expect(rows[0]).toMatch(/^\| run +\| mode +\| B +\| epochs +\| val reward \(last\) +\| test top1 +\|/);
    expect(rows[2]).toContain(`| ${final.metrics.top1.toFixed(4)} `);
    expect(rows[3]).toContain("(not finished)");
    expect((await inProcess(["compare", out])).code).toBe(0);
    const notARun = await inProcess(["compare", tmpdir()]);
    expect(notARun.code).toBe(2);
    expect(notARun.err).toContain("is not a run directory");
  });

  // One uninterrupted run (plain output) is the reference of the interrupted ones below.
  const config = writeConfig({ seed: 5 });
  let expected: ReturnType<typeof checkFinishedRun> | null = null;

  it("prints one plain line per event and a summary when stdout is not a terminal", async () => {
    const out = outDir();
    const result = await amlfs(["search", config, "--out", out]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^starting run cli-fake: 3 epochs, B=3, W=2/m);
    expect(result.stdout).toMatch(/^epoch 3\/3 done in .*: rewards min \d\.\d{4} median \d\.\d{4} max \d\.\d{4}, best sample \d\n {2}mu updated: a_t \S+ {2}b_t \S+ {2}a_tau \S+ {2}b_tau \S+$/m);
    expect(result.stdout).toMatch(/^Summary \(/m);
    expect(result.stdout).toMatch(/^ +3 +\d\.\d{4} +\d$/m);
    expected = checkFinishedRun(out);
  });

  it("replaces a worker process that dies mid-task and records the loss", async () => {
    // One worker, so the run goes on only through its replacement: with two, the other
    // could finish this short run before the replacement's process says hello (the
    // controller rightly does not wait for it), and its worker-up would never come.
    const out = outDir();
    const env = { FAKE_WORKER: JSON.stringify({ taskMs: 100, perWorker: { w0: { crashOnTask: 1 } } }) };
    const result = await amlfs(["search", writeConfig(), "--out", out, "--json", "--workers", "1"], env);
    expect(result.exitCode, result.all).toBe(0);
    const events = jsonLines(result.stdout);
    expect(events).toContainEqual(expect.objectContaining({ type: "worker-lost", workerId: "w0", reason: expect.stringMatching(/exited with code 3/) }));
    expect(events).toContainEqual(expect.objectContaining({ type: "worker-up", workerId: "w0-r1" }));
    const { epochs } = checkFinishedRun(out);
    // w0 built w_0, then died in its first task: epoch 0's first sample, run again by w0-r1.
    const failures = epochs.flatMap((record) => record.failures);
    expect(failures).toEqual([
      expect.objectContaining({ taskId: "e0000-s00-a0", workerId: "w0", requeued: true, reason: expect.stringMatching(/worker w0 lost/) }),
    ]);
    expect(epochs[0]?.winner.workerId).toBe("w0-r1");
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("on %s mid-run stops every worker, exits %i and stays resumable", async (signal, code) => {
    expect(expected).not.toBeNull();
    const out = outDir();
    const child = amlfs(["search", config, "--out", out, "--json"], { FAKE_WORKER: JSON.stringify({ taskMs: 300 }) });
    const pids: number[] = [];
    let sent = false;
    followJsonLines(child.stdout, (event) => {
      if (event.type === "worker-up") pids.push(event.pid as number);
      if (event.type === "task-start" && event.epoch === 1 && !sent) {
        sent = true;
        child.kill(signal);
      }
    });
    const result = await child;
    expect(result.exitCode, result.stderr).toBe(code);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(alive(pid), `worker pid ${pid}`).toBe(false);
    expect(result.stdout).toContain('"status":"interrupted"');
    expectResumesToExpected(await amlfs(["resume", out]), out);
  });

  // Start-up: before any worker said hello (the first line of output), and while w_0 is
  // built. The workers are found by the run id on their command line, hello or not.
  it.each([
    ["SIGTERM", 143, "run-start"],
    ["SIGINT", 130, "init-request"],
  ] as const)("on %s during start-up stops every worker promptly, exits %i and stays resumable (signal at %s)", async (signal, code, at) => {
    expect(expected).not.toBeNull();
    const out = outDir();
    const child = amlfs(["search", config, "--out", out, "--json"]);
    let runId = "";
    let sentAtMs: number | null = null;
    const helloPids: number[] = [];
    followJsonLines(child.stdout, (event) => {
      if (event.type === "run-start") runId = event.runId as string;
      if (event.type === "worker-up") helloPids.push(event.pid as number);
      if (event.type === at && sentAtMs === null) {
        sentAtMs = Date.now();
        child.kill(signal);
      }
    });
    const result = await child;
    const exitMs = Date.now() - (sentAtMs ?? Number.NaN);
    expect(result.exitCode, result.all).toBe(code);
    expect(runId).not.toBe("");
    // The launcher's grace to the workers (2 s) and the time to close.
    expect(exitMs, "ms from the signal to the exit").toBeLessThan(scaled(PROMPT_EXIT_MS));
    expect(pidsWithArgument("--run-id", runId), `workers of ${runId} left running`).toEqual([]);
    for (const pid of helloPids) expect(alive(pid), `worker pid ${pid}`).toBe(false);
    expect(jsonLines(result.stdout).find((event) => event.type === "run-end")).toMatchObject({ status: "interrupted", resumable: true });
    expectResumesToExpected(await amlfs(["resume", out]), out);
  });

  // Kill points: while w_0 is built, mid-epoch, right after a checkpoint is stored, before the final evaluation.
  it.each([
    ["init-request", (e: Record<string, unknown>) => e.type === "init-request"],
    ["a task-result of epoch 1", (e: Record<string, unknown>) => e.type === "task-result" && e.epoch === 1],
    ["checkpoint-stored of epoch 1", (e: Record<string, unknown>) => e.type === "checkpoint-stored" && e.epoch === 1],
    ["the final evaluation's task-start", (e: Record<string, unknown>) => e.type === "task-start" && e.kind === "evaluate"],
  ] as const)("resumes a controller SIGKILLed at %s to the same result; its workers exit by themselves", async (where, when) => {
    expect(expected).not.toBeNull();
    const out = outDir();
    const child = amlfs(["search", config, "--out", out, "--json"]);
    let runId = "";
    let killed = false;
    followJsonLines(child.stdout, (event) => {
      if (event.type === "run-start") runId = event.runId as string;
      if (!killed && when(event)) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    const result = await child;
    expect(result.signal, where).toBe("SIGKILL");
    const resumed = await amlfs(["resume", out, "--json"]);
    expect(resumed.exitCode, `${where}: ${resumed.all}`).toBe(0);
    const run = checkFinishedRun(out);
    expect(run.epochs.map((r) => r.rewards)).toEqual(expected?.epochs.map((r) => r.rewards));
    expect(run.epochs.at(-1)?.mu).toEqual(expected?.epochs.at(-1)?.mu);
    expect(run.final.sha256).toBe(expected?.final.sha256);
    expect(readJournal(out).filter((r) => r.kind === "init")).toHaveLength(1);
    // No orphans: the workers of the killed controller noticed its silence and exited by
    // themselves (heartbeatTimeoutMs 2000, or no welcome within 5 s).
    expect(runId).not.toBe("");
    await waitFor(() => pidsWithArgument("--run-id", runId).length === 0, scaled(15_000), `the workers of ${runId} to exit after their controller died`);
  });

  function expectResumesToExpected(resumed: Awaited<ReturnType<typeof amlfs>>, out: string): void {
    expect(resumed.exitCode, resumed.all).toBe(0);
    const run = checkFinishedRun(out);
    expect(run.epochs.at(-1)?.mu).toEqual(expected?.epochs.at(-1)?.mu);
    expect(run.final.sha256).toBe(expected?.final.sha256);
  }
});
