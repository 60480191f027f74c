/**
 * The torchrun launcher. Its command lines and device split against literal expectations;
 * then, with the real Python worker, through `amlfs search --json`:
 *
 * - a tiny AM-LFS search on digits (W = 2 workers x 2 processes, B = 2, 2 epochs, gloo on
 *   CPU) runs end to end with a journal that recomputes and the rewards of the same search
 *   with one process per worker (launcher "local"); only rank 0 of each group says hello
 *   (2 workers up, not 4); afterwards no process of the run is left;
 * - SIGTERM to the controller while the groups train leaves no process of the run either,
 *   once (an orderly stop) or twice (torchrun SIGKILLed): torchrun starts each rank in its own
 *   session, out of reach of a signal to torchrun's group, so the ranks rely on their
 *   parent-death signal.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { LaunchError } from "../../src/launch/errors.js";
import { REPO_ROOT } from "../../src/launch/python.js";
import { TorchrunLauncher, type TorchrunLauncherOptions } from "../../src/launch/torchrun.js";
import { checkFinishedRun } from "../helpers/check-journal.js";
import { followJsonLines } from "../helpers/json-lines.js";
import { SKIP_REASON, tinyDemoConfig } from "../integration/python-env.js";
import { scaled } from "../helpers/load.js";

const BIN = join(REPO_ROOT, "bin", "amlfs.mjs");
const context = { endpoint: "ipc:///tmp/amlfs-test.sock", runId: "digits-1a2b" };

/** A launcher whose "python" is `false`: start() records the placements and its workers end at once. */
async function started(options: Partial<TorchrunLauncherOptions>): Promise<TorchrunLauncher> {
  const launcher = new TorchrunLauncher({
    count: 2,
    devices: "cpu",
    logsDir: join(mkdtempSync(join(tmpdir(), "amlfs-torchrun-")), "logs"),
    env: { PATH: process.env.PATH, AMLFS_PYTHON: "false" },
    ...options,
  });
  await launcher.start(context);
  return launcher;
}

const workerArgs = (id: string, device: string, threads: number) =>
  ["--connect", context.endpoint, "--worker-id", id, "--run-id", context.runId, "--device", device, "--threads", String(threads)];

describe("TorchrunLauncher command lines", () => {
  it("starts each worker as a standalone torchrun group of procsPerWorker CPU processes", async () => {
    const launcher = await started({ threadsPerWorker: 1, torchrun: { procsPerWorker: 3 } });
    expect(launcher.commandFor("w1", 1)).toEqual([
      "false", "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc-per-node=3", "--max-restarts=0",
      "-m", "amlfs.worker", ...workerArgs("w1", "cpu", 1),
    ]);
  });

  it("shares the cores between all W x N processes by default (2 processes per worker)", async () => {
    const launcher = await started({ cpus: 8, count: 2 });
    expect(launcher.procsPerWorker).toBe(2);
    expect(launcher.commandFor("w0", 0).slice(-2)).toEqual(["--threads", "2"]); // floor(8 / (2 x 2))
    const crowded = await started({ cpus: 2, count: 3 });
    expect(crowded.commandFor("w0", 0).slice(-2)).toEqual(["--threads", "1"]);
  });

  it("gives each group its own GPUs through CUDA_VISIBLE_DEVICES; rank r of a group is on cuda:r", async () => {
    const listed = await started({ devices: ["cuda:0", "cuda:1", "cuda:2", "cuda:3"], threadsPerWorker: 4 });
    expect(listed.commandFor("w0", 0).slice(0, 3)).toEqual(["env", "CUDA_VISIBLE_DEVICES=0,1", "false"]);
    expect(listed.commandFor("w1", 1).slice(0, 3)).toEqual(["env", "CUDA_VISIBLE_DEVICES=2,3", "false"]);
    expect(listed.commandFor("w1", 1).slice(-4)).toEqual(["--device", "cuda:0", "--threads", "4"]);
    // "auto" with the controller itself limited to GPUs 4-7: ids map back through its own list.
    const auto = await started({ devices: "auto", cudaDevices: 4, env: { PATH: process.env.PATH, AMLFS_PYTHON: "false", CUDA_VISIBLE_DEVICES: "4,5,6,7" } });
    expect(auto.commandFor("w1", 1).slice(0, 2)).toEqual(["env", "CUDA_VISIBLE_DEVICES=6,7"]);
    // More ranks than GPUs: they wrap around.
    const few = await started({ devices: ["cuda:0"], count: 1 });
    expect(few.commandFor("w0", 0).slice(0, 2)).toEqual(["env", "CUDA_VISIBLE_DEVICES=0,0"]);
  });

  it("runs a user's script in torchrun's Python and any other program with --no-python", async () => {
    const script = await started({ command: ["false", "train.py", "--fast"] });
    expect(script.commandFor("w0", 0).slice(7, 10)).toEqual(["train.py", "--fast", "--connect"]);
    const program = await started({ command: ["./my-worker", "--fast"] });
    expect(program.commandFor("w0", 0).slice(7, 11)).toEqual(["--no-python", "./my-worker", "--fast", "--connect"]);
  });

  it("refuses a bad group size or device, naming the field", async () => {
    await expect(started({ torchrun: { procsPerWorker: 0 } })).rejects.toThrow(
      new LaunchError("workers.torchrun.procsPerWorker must be an integer >= 1, got 0"),
    );
    await expect(started({ devices: ["mps"] })).rejects.toThrow(/workers.devices: launcher "torchrun" expects "cpu" or cuda:N devices, got "mps"/);
  });
});

/** The digits demo made tiny: W = 2 groups of 2 CPU processes of 1 thread, B = 2. */
function torchrunConfig(epochs: number, launcher = "torchrun"): string {
  const path = tinyDemoConfig({ epochs, heartbeatTimeoutMs: 10_000 });
  const config = JSON.parse(readFileSync(path, "utf8")) as { search: object; workers: object };
  config.search = { ...config.search, B: 2 };
  config.workers = { ...config.workers, launcher, devices: "cpu", threadsPerWorker: 1, torchrun: { procsPerWorker: 2 } };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

function search(config: string) {
  const out = join(mkdtempSync(join(tmpdir(), "amlfs-torchrun-run-")), "run");
  const child = execa(process.execPath, [BIN, "search", config, "--out", out, "--json"], {
    reject: false,
    forceKillAfterDelay: false,
    cwd: REPO_ROOT,
    env: { AMLFS_WORKER_COMMAND: "" },
    extendEnv: true,
  });
  const events: Record<string, unknown>[] = [];
  let runId = "";
  followJsonLines(child.stdout, (event) => {
    events.push(event);
    if (event.type === "run-start") runId = event.runId as string;
  });
  return { child, events, out, runId: () => runId };
}

/** Processes on this host whose command line mentions the run (torchrun and its ranks). */
async function processesLeft(runId: string): Promise<string[]> {
  const { stdout } = await execa("ps", ["-eo", "pid=,args="]);
  return stdout.split("\n").filter((line) => line.includes(runId) && !line.includes("ps -eo"));
}

describe.skipIf(SKIP_REASON !== null)("TorchrunLauncher with the real worker", () => {
  it("runs a tiny search with 2 groups of 2 ranks; only rank 0 of each group says hello", async () => {
    const run = search(torchrunConfig(2));
    const result = await run.child;
    const log = (() => {
      try {
        return readFileSync(join(run.out, "logs", "w0.log"), "utf8").slice(-3000);
      } catch {
        return "(no worker log)";
      }
    })();
    expect(result.exitCode, `${result.stderr}\n${log}`).toBe(0);
    const up = run.events.filter((event) => event.type === "worker-up");
    // Only rank 0 of each group says hello (w1's may come after this short run is over).
    const ids = up.map((event) => event.workerId as string);
    expect(ids.length).toBeGreaterThanOrEqual(1);
    expect(ids.every((id) => id === "w0" || id === "w1") && new Set(ids).size === ids.length).toBe(true);
    expect(run.events.filter((event) => event.type === "worker-lost")).toEqual([]);
    const results = run.events.filter((event) => event.type === "task-result" && event.kind === "train");
    expect(results).toHaveLength(4); // B x epochs
    expect(results.every((event) => event.ok === true)).toBe(true);
    const { epochs, final } = checkFinishedRun(run.out);
    expect(epochs).toHaveLength(2);
    // The reference: the same search with one process per worker (launcher "local"). Small-cnn
    // has no batch norm, so the groups' averaged shard gradients are the full batches' and the
    // rewards agree (measured: equal to the last digit; allowed: one validation sample of 144).
    const local = search(torchrunConfig(2, "local"));
    expect((await local.child).exitCode).toBe(0);
    const reference = checkFinishedRun(local.out);
    epochs.forEach((record, e) => {
      record.rewards.forEach((reward, k) => expect(Math.abs((reward as number) - (reference.epochs[e]?.rewards[k] as number))).toBeLessThanOrEqual(1 / 144 + 1e-9));
    });
    expect(final.metrics.top1).toBeCloseTo(reference.final.metrics.top1 as number, 2);
    expect(final.metrics.top1).toBeGreaterThan(0.3); // 2 epochs of digits (about 0.53), far above chance (0.1)
    // Both ranks of a group trained: the follower logged its rank and its tasks.
    for (const worker of ["w0", "w1"]) {
      expect(readFileSync(join(run.out, "logs", `${worker}.log`), "utf8")).toMatch(new RegExp(`\\[${worker}/rank1\\] INFO: rank 1: shutdown after \\d+ tasks`));
    }
    expect(await processesLeft(run.runId())).toEqual([]);
  }, scaled(120_000));

  it.each([
    [1, "stops the groups in order"],
    [2, "SIGKILLs the torchruns at once; their ranks die with them"],
  ])("%i SIGTERM to the controller while the groups train: %s, leaving no process of the run", async (signals) => {
    const run = search(torchrunConfig(20));
    const deadline = Date.now() + 60_000;
    while (!run.events.some((event) => event.type === "task-progress") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await processesLeft(run.runId())).toHaveLength(6); // 2 x (torchrun + 2 ranks)
    for (let n = 0; n < signals; n += 1) {
      run.child.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const result = await run.child;
    expect(result.exitCode).toBe(143);
    // A SIGKILLed torchrun's ranks get their parent-death SIGKILL at once; allow the kernel a moment.
    let left = await processesLeft(run.runId());
    for (let tries = 0; left.length > 0 && tries < 20; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await processesLeft(run.runId());
    }
    expect(left).toEqual([]);
  }, scaled(90_000));
});
