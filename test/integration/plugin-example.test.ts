/**
 * Plugging AM-LFS into a plain PyTorch script (docs/plug-in.md, examples/plain-pytorch/):
 *
 * - which worker command the CLI starts: $AMLFS_WORKER_COMMAND, else `workers.command`
 *   (a first "python" resolved as for the built-in worker), else the built-in worker;
 * - the diff printed in the guide is `diff -u` of train.py and train_amlfs.py, ten +/- lines at most;
 * - train.py runs on its own for one epoch;
 * - `amlfs search examples/plain-pytorch/amlfs.json` as a user runs it, real processes on
 *   CPU: the user's script is every worker (its hello, its prints in the logs), and the
 *   journal is a complete, consistent run (init, 3 epochs, final test top-1).
 */
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { workerCommand } from "../../src/cli/worker-command.js";
import { REPO_ROOT, pythonPath, resolvePython } from "../../src/launch/python.js";
import { checkFinishedRun } from "../helpers/check-journal.js";
import { PYTHON, SKIP_REASON } from "./python-env.js";
import { scaled } from "../helpers/load.js";

const BIN = join(REPO_ROOT, "bin", "amlfs.mjs");
const EXAMPLE = "examples/plain-pytorch";
const CONFIG = join(REPO_ROOT, EXAMPLE, "amlfs.json");

describe("the worker command", () => {
  const configured = ["python", "examples/plain-pytorch/train_amlfs.py", "--epochs", "3"];

  it("is $AMLFS_WORKER_COMMAND first, then workers.command with python resolved, then the built-in worker", () => {
    const env = { AMLFS_PYTHON: "/opt/py/bin/python3" };
    expect(workerCommand(configured, { ...env, AMLFS_WORKER_COMMAND: '["node", "fake.js"]' })).toEqual(["node", "fake.js"]);
    expect(workerCommand(configured, { ...env, AMLFS_WORKER_COMMAND: "node  fake.js " })).toEqual(["node", "fake.js"]);
    expect(workerCommand(configured, { ...env, AMLFS_WORKER_COMMAND: "" })).toEqual(["/opt/py/bin/python3", ...configured.slice(1)]);
    expect(workerCommand(configured, {})).toEqual([resolvePython({}), ...configured.slice(1)]);
    expect(workerCommand(["python3", "train.py"], env)).toEqual(["python3", "train.py"]);
    expect(workerCommand(undefined, env)).toBeUndefined();
    expect(() => workerCommand(configured, { AMLFS_WORKER_COMMAND: "[1]" })).toThrow(/AMLFS_WORKER_COMMAND: expected a non-empty JSON array/);
  });
});

describe("the guide's diff", () => {
  it("is diff -u of train.py and train_amlfs.py, with ten changed lines at most", async () => {
    const result = await execa("diff", ["-u", "--label", `${EXAMPLE}/train.py`, "--label", `${EXAMPLE}/train_amlfs.py`,
      join(EXAMPLE, "train.py"), join(EXAMPLE, "train_amlfs.py")], { cwd: REPO_ROOT, reject: false });
    expect(result.exitCode, result.stderr).toBe(1); // 1: the files differ
    const guide = readFileSync(join(REPO_ROOT, "docs", "plug-in.md"), "utf8");
    const printed = /```diff\n([\s\S]*?)```/.exec(guide)?.[1];
    expect(printed).toBe(`${result.stdout}\n`);
    const changed = result.stdout.split("\n").filter((line) => /^[-+](?![-+]{2} )/.test(line));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.length).toBeLessThanOrEqual(10);
  });
});

describe.skipIf(SKIP_REASON !== null)(`the plain PyTorch example${SKIP_REASON === null ? "" : ` (skipped: ${SKIP_REASON})`}`, () => {
  const env = { PYTHONPATH: pythonPath() ?? "", OMP_NUM_THREADS: "1" };

  it("trains on its own, without amlfs", { timeout: scaled(90_000) }, async () => {
    const result = await execa(PYTHON, [join(EXAMPLE, "train.py"), "--epochs", "1", "--device", "cpu"], {
      cwd: REPO_ROOT, env, extendEnv: true, reject: false, timeout: scaled(80_000),
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^epoch 1\/1: val accuracy (0|1)\.\d{4}\ntest accuracy (0|1)\.\d{4}$/);
  });

  it("is driven by `amlfs search` through workers.command, with a consistent journal", { timeout: scaled(150_000) }, async () => {
    const out = join(mkdtempSync(join(tmpdir(), "amlfs-plugin-")), "run");
    const result = await execa(process.execPath, [BIN, "search", CONFIG, "--out", out, "--json"], {
      cwd: REPO_ROOT, env: { AMLFS_WORKER_COMMAND: "" }, extendEnv: true, reject: false, timeout: scaled(140_000),
    });
    const logs = join(out, "logs");
    const workerLogs = () => readdirSync(logs).filter((name) => /^w\d/.test(name)).map((name) => readFileSync(join(logs, name), "utf8"));
    expect(result.exitCode, `${result.stderr}\n${workerLogs().join("\n").slice(-3000)}`).toBe(0);

    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; adapter?: string });
    const up = events.filter((event) => event.type === "worker-up");
    expect(up).toHaveLength(2);
    expect(up.every((event) => event.adapter === "plain-pytorch")).toBe(true); // connect("plain-pytorch"), not the built-in
    // The script's own print runs once per train task: B = 4 samples x 3 epochs over the two workers.
    const prints = workerLogs().join("\n").match(/^epoch \d\/3: val accuracy \d\.\d{4}$/gm) ?? [];
    expect(prints).toHaveLength(12);

    const run = checkFinishedRun(out); // init, epochs 0..2, final; thetas, mu and Adam recomputed
    expect(run.config.workers.command).toEqual(["python", "examples/plain-pytorch/train_amlfs.py", "--epochs", "3"]);
    expect(run.epochs).toHaveLength(3);
    for (const record of run.epochs) {
      expect(record.failures).toEqual([]);
      expect(record.rewards.every((reward) => reward !== null && reward >= 0 && reward <= 1)).toBe(true);
    }
    expect(run.final.metrics.top1).toBeGreaterThan(0.5); // 3 epochs of a small CNN on digits
  });
});
