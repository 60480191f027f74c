/**
 * The slurm launcher. Without Slurm: its srun command line, the advertised endpoint and the
 * parsing of squeue output, against literal expectations. With a single-node Slurm cluster
 * (tools/slurm/setup-single-node.sh; skipped, saying why, where srun/sinfo are absent or the
 * node is not up) and the real Python worker, through `amlfs search --json`:
 *
 * - a tiny AM-LFS search on digits (W = 2, B = 2, 2 epochs) runs end to end with its workers
 *   as srun steps; both first steps are `scancel`ed as soon as their workers are up, and
 *   the replacements (new srun steps) do every task;
 * - SIGTERM (once, or twice for the immediate kill) to a controller whose workers never
 *   connect and ignore SIGTERM: afterwards squeue lists no job or step of the run and no
 *   worker or srun process of the run is left on this host.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../src/launch/python.js";
import { SlurmLauncher, advertisedEndpoint, parseSqueue } from "../../src/launch/slurm.js";
import { followJsonLines } from "../helpers/json-lines.js";
import { PYTHON, SKIP_REASON as PYTHON_SKIP_REASON, tinyDemoConfig } from "../integration/python-env.js";
import { scaled } from "../helpers/load.js";

const BIN = join(REPO_ROOT, "bin", "amlfs.mjs");

/** Null when a Slurm node accepts steps here, else why the cluster tests are skipped. */
function slurmSkipReason(): string | null {
  try {
    const state = execFileSync("sinfo", ["--noheader", "--format=%t"], { stdio: "pipe", timeout: scaled(10_000) }).toString().trim();
    if (!/^(idle|mix|alloc)/m.test(state)) return `no Slurm node is up (sinfo states: ${state || "none"}); run tools/slurm/setup-single-node.sh`;
    execFileSync("srun", ["--version"], { stdio: "pipe", timeout: scaled(10_000) });
    return null;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim().split("\n").at(-1);
    return `Slurm is not usable here (${stderr || (error as Error).message.split("\n")[0]}); run tools/slurm/setup-single-node.sh as root`;
  }
}

const SKIP_REASON = slurmSkipReason() ?? PYTHON_SKIP_REASON;
if (SKIP_REASON !== null) console.warn(`slurm launcher tests skipped: ${SKIP_REASON}`);

describe("SlurmLauncher without a cluster", () => {
  const context = { endpoint: "tcp://0.0.0.0:5555", runId: "digits-1a2b" };

  it("starts each worker as a one-task srun step that connects back to this host", async () => {
    const launcher = new SlurmLauncher({
      count: 2,
      devices: "cpu",
      threadsPerWorker: 3,
      logsDir: join(mkdtempSync(join(tmpdir(), "amlfs-slurm-")), "logs"),
      command: ["py", "-m", "amlfs.worker"],
      slurm: { partition: "gpu", timeLimit: "1:00:00", extraArgs: ["--mem=4G"] },
      // `false` ends at once: start() only has to record the context and placements.
      programs: { srun: "false" },
      env: { PATH: process.env.PATH },
    });
    await launcher.start(context);
    expect(launcher.commandFor("w1", 1)).toEqual([
      "false",
      "--ntasks=1",
      "--nodes=1",
      "--job-name=amlfs-digits-1a2b-w1",
      "--cpus-per-task=3",
      "--export=ALL",
      "--kill-on-bad-exit=1",
      "--partition=gpu",
      "--time=1:00:00",
      "--mem=4G",
      "py",
      "-m",
      "amlfs.worker",
      "--connect",
      `tcp://${hostname()}:5555`,
      "--worker-id",
      "w1",
      "--run-id",
      "digits-1a2b",
      "--device",
      "cpu",
      "--threads",
      "3",
    ]);
  });

  it("asks for a GPU per step and uses the step's cuda:0 when devices name GPUs; --exact inside an allocation", async () => {
    const launcher = new SlurmLauncher({
      count: 1,
      devices: ["cuda:0", "cuda:1"],
      logsDir: join(mkdtempSync(join(tmpdir(), "amlfs-slurm-")), "logs"),
      command: ["py"],
      slurm: { controllerHost: "ctl.example" },
      programs: { srun: "false" },
      env: { PATH: process.env.PATH, SLURM_JOB_ID: "77" },
    });
    await launcher.start(context);
    const command = launcher.commandFor("w0", 0);
    expect(command.slice(7, 9)).toEqual(["--exact", "--gpus-per-task=1"]);
    expect(command.slice(-10)).toEqual(["--connect", "tcp://ctl.example:5555", "--worker-id", "w0", "--run-id", "digits-1a2b", "--device", "cuda:0", "--threads", "1"]);
  });

  it("advertises a host in place of a wildcard bind address only", () => {
    expect(advertisedEndpoint("tcp://0.0.0.0:4000", "node7")).toBe("tcp://node7:4000");
    expect(advertisedEndpoint("tcp://*:4000", "10.0.0.2")).toBe("tcp://10.0.0.2:4000");
    expect(advertisedEndpoint("tcp://0.0.0.0:4000", "fe80::1")).toBe("tcp://[fe80::1]:4000");
    expect(advertisedEndpoint("tcp://127.0.0.1:4000", "node7")).toBe("tcp://127.0.0.1:4000");
    expect(advertisedEndpoint("ipc:///tmp/amlfs.sock", "node7")).toBe("ipc:///tmp/amlfs.sock");
  });

  it("picks job and step ids by name from squeue output", () => {
    const output = "12|amlfs-r-w0\n12.0|amlfs-r-w0\n13|other|with bar\n4.1|amlfs-r-w1-r1\n\nnoise\n";
    expect(parseSqueue(output, (name) => name.startsWith("amlfs-r-"))).toEqual(["12", "12.0", "4.1"]);
    expect(parseSqueue(output, (name) => name === "other|with bar")).toEqual(["13"]);
  });
});

/** The digits demo made tiny (W = 2, B = 2) with its workers started by srun. */
function slurmConfig(epochs: number): string {
  const path = tinyDemoConfig({ epochs, heartbeatTimeoutMs: 6000 });
  const config = JSON.parse(readFileSync(path, "utf8")) as { search: object; workers: object };
  config.search = { ...config.search, B: 2 };
  config.workers = { ...config.workers, launcher: "slurm", threadsPerWorker: 1 };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

function search(config: string, env: Record<string, string> = {}) {
  const out = join(mkdtempSync(join(tmpdir(), "amlfs-slurm-run-")), "run");
  const child = execa(process.execPath, [BIN, "search", config, "--out", out, "--json"], {
    reject: false,
    // The controller's own stop takes a few seconds (grace, srun, squeue); execa must not SIGKILL it meanwhile.
    forceKillAfterDelay: false,
    cwd: REPO_ROOT,
    env: { AMLFS_WORKER_COMMAND: "", ...env },
    extendEnv: true,
  });
  const events: Record<string, unknown>[] = [];
  return { child, events, out };
}

/** Jobs and steps of the run still known to Slurm (`squeue`, names amlfs-<runId>-*). */
async function slurmLeft(runId: string): Promise<string[]> {
  const lines: string[] = [];
  for (const extra of [[], ["--steps"]]) {
    const { stdout } = await execa("squeue", ["--noheader", "--format=%i|%j", ...extra]);
    lines.push(...stdout.split("\n").filter((line) => line.includes(`|amlfs-${runId}-`)));
  }
  return lines;
}

/** Processes on this host whose command line mentions the run (workers, srun). */
async function processesLeft(runId: string): Promise<string[]> {
  const { stdout } = await execa("ps", ["-eo", "pid=,args="]);
  return stdout.split("\n").filter((line) => line.includes(runId) && !line.includes("ps -eo"));
}

describe.skipIf(SKIP_REASON !== null)("SlurmLauncher on a single-node Slurm cluster", () => {
  it("runs a tiny search with srun workers, replaces cancelled steps, and leaves nothing behind", async () => {
    const { child, events, out } = search(slurmConfig(2));
    let runId = "";
    const victims: string[] = [];
    followJsonLines(child.stdout, (event) => {
      events.push(event);
      if (event.type === "run-start") runId = event.runId as string;
      // Both first workers are cancelled as soon as they are up, so only replacements can finish the run.
      if (event.type === "worker-up" && !(event.workerId as string).includes("-r")) {
        victims.push(event.workerId as string);
        void execa("scancel", ["--name", `amlfs-${runId}-${event.workerId as string}`]);
      }
    });
    const result = await child;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(events).toContainEqual(expect.objectContaining({ type: "run-start", endpoint: expect.stringMatching(/^tcp:\/\/0\.0\.0\.0:\d+$/) }));
    expect(victims.sort()).toEqual(["w0", "w1"]);
    for (const victim of victims) {
      // Slurm's own words for the cancelled step reach srun's stderr in either order (or only
      // one of them) before it exits: "*** STEP ... CANCELLED ***", "task 0: Terminated".
      expect(events).toContainEqual(expect.objectContaining({ type: "worker-lost", workerId: victim, reason: expect.stringMatching(/CANCELLED|Terminated/) }));
      expect(events).toContainEqual(expect.objectContaining({ type: "log", message: expect.stringMatching(new RegExp(`^started worker ${victim}-r1 .*srun `)) }));
    }
    const results = events.filter((event) => event.type === "task-result" && event.ok === true);
    expect(results.length).toBeGreaterThanOrEqual(4);
    expect(results.every((event) => /^w[01]-r1$/.test(event.workerId as string))).toBe(true);
    expect(events.filter((event) => event.type === "epoch-end")).toHaveLength(2);
    expect(events).toContainEqual(expect.objectContaining({ type: "final", metrics: expect.objectContaining({ top1: expect.any(Number) }) }));
    // srun's own lines about the cancelled step went to the worker's log.
    expect(readFileSync(join(out, "logs", "w0.log"), "utf8")).toMatch(/STEP \d+\.0 ON .* CANCELLED|task 0: Terminated/);
    expect(await slurmLeft(runId)).toEqual([]);
    expect(await processesLeft(runId)).toEqual([]);
  }, scaled(90_000));

  /**
   * Workers that never connect and ignore SIGTERM (a Python one-liner): `shutdown` never
   * reaches them and srun's forwarded SIGTERM does nothing, so srun ends up SIGKILLed and
   * only `scancel` can end the steps. The controller is signalled once both steps run.
   */
  async function stopStubbornRun(signals: number, killSruns = false): Promise<{ code: number | undefined; before: string[]; after: string[]; left: string[] }> {
    const stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)";
    const { child, events } = search(slurmConfig(2), { AMLFS_WORKER_COMMAND: JSON.stringify([PYTHON, "-c", stubborn]) });
    let runId = "";
    followJsonLines(child.stdout, (event) => {
      events.push(event);
      if (event.type === "run-start") runId = event.runId as string;
    });
    let before: string[] = [];
    const steps = (lines: string[]) => lines.filter((line) => /^\d+\.0\|/.test(line));
    const deadline = Date.now() + 30_000;
    while (steps(before).length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (runId !== "") before = await slurmLeft(runId);
    }
    if (killSruns) {
      // srun gone, step orphaned: only the launcher's scancel sweep at stop can end it.
      for (const line of await processesLeft(runId)) if (/^\s*\d+ srun /.test(line)) process.kill(Number.parseInt(line, 10), "SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (let n = 0; n < signals; n += 1) {
      child.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const result = await child;
    return { code: result.exitCode, before: steps(before), after: await slurmLeft(runId), left: await processesLeft(runId) };
  }

  it("SIGTERM to the controller stops every step it started (srun ends a step that ignores SIGTERM)", async () => {
    const { code, before, after, left } = await stopStubbornRun(1);
    expect(code).toBe(143);
    expect(before).toHaveLength(2);
    expect(after).toEqual([]);
    expect(left).toEqual([]);
  }, scaled(60_000));

  it("steps orphaned by a SIGKILLed srun are scancelled when the controller stops", async () => {
    const { before, after, left } = await stopStubbornRun(1, true);
    expect(before).toHaveLength(2);
    expect(after).toEqual([]);
    expect(left).toEqual([]);
  }, scaled(60_000));

  it("a second SIGTERM kills the sruns and cancels the steps at once", async () => {
    const { code, before, after, left } = await stopStubbornRun(2);
    expect(code).toBe(143);
    expect(before).toHaveLength(2);
    expect(after).toEqual([]);
    expect(left).toEqual([]);
  }, scaled(60_000));
});
