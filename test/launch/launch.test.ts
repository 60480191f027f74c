/**
 * The local launcher with real processes (a stub worker in plain Node): the command line
 * and environment of a worker, its output in logs/<id>.log, exits reported with the last
 * stderr lines, bounded replacements, and stopAll that leaves no process behind (SIGTERM,
 * then SIGKILL to the whole process group). Also device placement and Python resolution.
 */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectCudaDevices, placeWorkers } from "../../src/launch/devices.js";
import type { WorkerExit } from "../../src/launch/launcher.js";
import { LocalLauncher } from "../../src/launch/local.js";
import { pythonPath, resolvePython } from "../../src/launch/python.js";
import { waitFor } from "../transport/wait.js";

const STUB = join(import.meta.dirname, "stub-worker.mjs");
const context = { endpoint: "tcp://127.0.0.1:5555", runId: "run-7" };

function logText(logsDir: string, id: string): string {
  try {
    return readFileSync(join(logsDir, `${id}.log`), "utf8");
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function launcher(mode: string, options: { count?: number; maxRestarts?: number } = {}) {
  const logsDir = join(mkdtempSync(join(tmpdir(), "amlfs-launch-")), "logs");
  const exits: WorkerExit[] = [];
  const local = new LocalLauncher({
    count: options.count ?? 2,
    devices: "cpu",
    command: [process.execPath, STUB],
    logsDir,
    env: { ...process.env, STUB_MODE: mode },
    ...(options.maxRestarts === undefined ? {} : { maxRestarts: options.maxRestarts }),
  });
  local.onExit((exit) => exits.push(exit));
  return { local, exits, logsDir };
}

describe("placeWorkers", () => {
  it("gives CPU workers max(1, floor(cpus / W)) threads", () => {
    expect(placeWorkers("cpu", 2, 0, { cpus: 2 })).toEqual([
      { device: "cpu", threads: 1 },
      { device: "cpu", threads: 1 },
    ]);
    expect(placeWorkers("auto", 3, 0, { cpus: 16 }).map((p) => p.threads)).toEqual([5, 5, 5]);
    expect(placeWorkers("cpu", 4, 0, { cpus: 2 }).map((p) => p.threads)).toEqual([1, 1, 1, 1]);
    expect(placeWorkers("cpu", 2, 0, { cpus: 16, threadsPerWorker: 3 }).map((p) => p.threads)).toEqual([3, 3]);
  });

  it("puts one worker per CUDA device when devices say so", () => {
    expect(placeWorkers("auto", 2, 2, { cpus: 8 }).map((p) => p.device)).toEqual(["cuda:0", "cuda:1"]);
    expect(placeWorkers("auto", 3, 2, { cpus: 8 }).map((p) => p.device)).toEqual(["cuda:0", "cuda:1", "cuda:0"]);
    expect(placeWorkers(["cuda:1", "cuda:3"], 2, 0, { cpus: 8 }).map((p) => p.device)).toEqual(["cuda:1", "cuda:3"]);
    expect(placeWorkers("cpu", 2, 4, { cpus: 8 }).map((p) => p.device)).toEqual(["cpu", "cpu"]);
  });

  it("reads CUDA_VISIBLE_DEVICES before asking nvidia-smi", async () => {
    expect(await detectCudaDevices({ CUDA_VISIBLE_DEVICES: "0,1" })).toBe(2);
    expect(await detectCudaDevices({ CUDA_VISIBLE_DEVICES: "" })).toBe(0);
    expect(await detectCudaDevices({ CUDA_VISIBLE_DEVICES: "-1" })).toBe(0);
    expect(await detectCudaDevices({ CUDA_VISIBLE_DEVICES: "2,-1,3" })).toBe(1);
  });
});

describe("resolvePython", () => {
  it("prefers AMLFS_PYTHON, then <repo>/.venv/bin/python, then python3", () => {
    const repo = mkdtempSync(join(tmpdir(), "amlfs-repo-"));
    expect(resolvePython({ AMLFS_PYTHON: "/opt/py/bin/python" }, repo)).toBe("/opt/py/bin/python");
    expect(resolvePython({}, repo)).toBe("python3");
    mkdirSync(join(repo, ".venv", "bin"), { recursive: true });
    writeFileSync(join(repo, ".venv", "bin", "python"), "");
    expect(resolvePython({}, repo)).toBe(join(repo, ".venv", "bin", "python"));
    mkdirSync(join(repo, "python"));
    expect(pythonPath({ PYTHONPATH: "/x" }, repo)).toBe(`${join(repo, "python")}:/x`);
  });
});

describe("LocalLauncher", () => {
  it("starts workers with the protocol's arguments and environment, and logs their output", async () => {
    const { local, exits, logsDir } = launcher("exit", { maxRestarts: 0 });
    expect(await local.start(context)).toEqual(["w0", "w1"]);
    await waitFor(() => exits.length === 2);
    const line = readFileSync(join(logsDir, "w1.log"), "utf8").split("\n")[0] as string;
    const { argv, env } = JSON.parse(line) as { argv: string[]; env: Record<string, string> };
    const threads = String(Math.max(1, Math.floor((await import("node:os")).availableParallelism() / 2)));
    expect(argv).toEqual(["--connect", context.endpoint, "--worker-id", "w1", "--run-id", "run-7", "--device", "cpu", "--threads", threads]);
    expect(env).toMatchObject({ AMLFS_CONNECT: context.endpoint, AMLFS_WORKER_ID: "w1", AMLFS_RUN_ID: "run-7", AMLFS_DEVICE: "cpu", AMLFS_THREADS: threads });
    expect(exits.find((e) => e.workerId === "w1")).toMatchObject({ code: 5, signal: null, lastStderr: ["stub: something went wrong"] });
    expect(readFileSync(join(logsDir, "w0.log"), "utf8")).toContain("stub: something went wrong");
    expect(local.running()).toBe(0);
  });

  it("replaces a worker under a new id while the restart budget lasts", async () => {
    const { local, exits } = launcher("exit", { count: 1, maxRestarts: 2 });
    await local.start(context);
    await waitFor(() => exits.length === 1);
    expect(local.replace("w0")).toBe("w0-r1");
    await waitFor(() => exits.length === 2);
    expect(local.replace("w0-r1")).toBe("w0-r2");
    await waitFor(() => exits.length === 3);
    expect(local.replace("w0-r2")).toBeNull();
    expect(exits.map((e) => e.workerId)).toEqual(["w0", "w0-r1", "w0-r2"]);
  });

  it("reports a worker that cannot be started at all", async () => {
    const logsDir = join(mkdtempSync(join(tmpdir(), "amlfs-launch-")), "logs");
    const local = new LocalLauncher({ count: 1, devices: "cpu", command: ["/nonexistent/python"], logsDir, maxRestarts: 0 });
    const exits: WorkerExit[] = [];
    local.onExit((exit) => exits.push(exit));
    await local.start(context);
    await waitFor(() => exits.length === 1);
    expect(exits[0]?.lastStderr.join(" ")).toMatch(/ENOENT|nonexistent/);
  });

  it("stops every worker it started, SIGKILLing the process group of one that ignores SIGTERM", async () => {
    const { local, exits, logsDir } = launcher("stubborn");
    await local.start(context);
    await waitFor(() => logText(logsDir, "w1").includes("ready"));
    await waitFor(() => logText(logsDir, "w0").includes("ready"));
    const pids = local.pids();
    const grandchildren = ["w0", "w1"].map((id) => Number(/grandchild (\d+)/.exec(logText(logsDir, id))?.[1]));
    expect(pids).toHaveLength(2);
    const started = Date.now();
    await local.stopAll(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(exits.map((e) => e.signal)).toEqual(["SIGKILL", "SIGKILL"]);
    for (const pid of [...pids, ...grandchildren]) await waitFor(() => !alive(pid), 5000, `pid ${pid} to be gone`);
    expect(readFileSync(join(logsDir, "w0.log"), "utf8")).toContain("ignoring SIGTERM");
  });

  it("stops a worker that honours SIGTERM without waiting for SIGKILL", async () => {
    const { local, exits, logsDir } = launcher("sleep", { count: 1 });
    await local.start(context);
    await waitFor(() => logText(logsDir, "w0").includes("ready"));
    await local.stopAll(300);
    expect(exits.map((e) => e.signal)).toEqual(["SIGTERM"]);
  });
});
