/**
 * A worker that cannot run the experiment because of its config or data (something the
 * config's schema cannot see) stops the run at once: `amlfs` exits 2 with the cause in its
 * last stderr line, starts no replacement worker, and does not suggest `resume`. Real
 * processes and sockets: `amlfs` from bin/amlfs.mjs, and as its worker either a user's own
 * program on the public session API (test/fixtures/workers/config_error.py, through
 * `workers.command`) or the built-in worker on a CIFAR-10 folder whose layout is right and
 * whose contents are not.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { pythonPath } from "../../src/launch/python.js";
import { FIXTURES, PYTHON, SKIP_REASON } from "../integration/python-env.js";
import { amlfs } from "./cli-process.js";

/** Generous: each case ends on its own (the run stops at the first config error); this only bounds a hang. */
const CASE_TIMEOUT_MS = 180_000;
/** What the fixture worker says (test/fixtures/workers/config_error.py). */
const FIXTURE_REASON = "config_error.py: label file /nonexistent/amlfs-fixture/labels.csv does not exist";
/** The record whose label byte is broken below; the reader names it (python/amlfs/data/cifar10.py). */
const CIFAR_CAUSE = /data_batch_2\.bin: record 1 has label 200, expected 0-9/;

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function writeJson(dir: string, value: unknown): string {
  const path = join(dir, "config.json");
  writeFileSync(path, JSON.stringify(value, null, 2));
  return path;
}

/** One worker, so that "no replacement" means exactly one worker process in the run. */
function pluginConfig(command: string[]): string {
  return writeJson(tempDir("amlfs-cfgerr-"), {
    name: "config-error-plugin",
    seed: 0,
    baseline: { name: "small-cnn" },
    dataset: { kind: "digits" },
    search: { B: 2, epochs: 2, M: 2 },
    workers: { count: 1, devices: "cpu", threadsPerWorker: 1, heartbeatTimeoutMs: 4000, command },
    reward: { metric: "top1" },
  });
}

/** A cifar-10-batches-bin folder of tiny files, all present, with one label byte out of range. */
async function brokenCifar(): Promise<string> {
  const root = join(tempDir("amlfs-cifar-"), "cifar-10-batches-bin");
  const env = { ...process.env, PYTHONPATH: pythonPath() ?? "" };
  await execa(PYTHON, ["-m", "amlfs.fixtures.cifar10", root, "--per-batch", "4"], { env });
  const file = join(root, "data_batch_2.bin");
  const bytes = readFileSync(file);
  bytes[3073] = 200; // the label byte of record 1 (records are 1 + 3072 bytes)
  writeFileSync(file, bytes);
  return root;
}

interface Finished {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  all: string;
}

/** `amlfs` with the worker of the config (not the TypeScript fake worker cli-process.ts sets by default). */
async function run(args: string[]): Promise<Finished> {
  const result = await amlfs(args, { AMLFS_WORKER_COMMAND: "" });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, all: result.all };
}

function lastLine(text: string): string {
  return text.trimEnd().split("\n").at(-1) ?? "";
}

/** The config error path: exit 2, the cause last on stderr, no resume hint, no retry. */
function expectConfigError(result: Finished, runDir: string, cause: string | RegExp): void {
  const context = result.all;
  expect(result.exitCode, context).toBe(2);
  const last = lastLine(result.stderr);
  expect(last, context).toMatch(/^amlfs: config error reported by worker w0( \(exit code 2\))?: /);
  if (typeof cause === "string") expect(last, context).toContain(cause);
  else expect(last, context).toMatch(cause);
  expect(result.all, context).not.toMatch(/resume with/);
  expect(result.all, context).not.toMatch(/lost|no worker left|restart budget/);
  // One worker process and no replacement: the launcher logs each start, and each worker has its own log file.
  expect(result.all.match(/started worker /g), context).toHaveLength(1);
  expect(readdirSync(join(runDir, "logs")).sort(), context).toEqual(["controller.log", "w0.log"]);
}

describe.skipIf(SKIP_REASON !== null)("a worker that cannot run the config", () => {
  it(
    "a user's worker that raises ConfigError in its session: exit 2, the cause last, no retry, no resume hint",
    async () => {
      const out = join(tempDir("amlfs-cfgerr-run-"), "run");
      const config = pluginConfig(["python", join(FIXTURES, "config_error.py")]);
      const result = await run(["search", config, "--out", out]);
      expectConfigError(result, out, FIXTURE_REASON);
      expect(lastLine(result.stderr)).toBe(`amlfs: config error reported by worker w0: ${FIXTURE_REASON}`);
      expect(result.stdout).toContain(`worker w0 cannot run this config: ${FIXTURE_REASON}`);
    },
    CASE_TIMEOUT_MS,
  );

  it.each([
    ["before it connects", ["--exit-only"]],
    ["after welcome", ["--exit-only", "--after-welcome"]],
  ])(
    "a user's worker that exits 2 without a word on the wire (%s): the same config error, from its stderr",
    async (_when, flags) => {
      const out = join(tempDir("amlfs-cfgerr-run-"), "run");
      const config = pluginConfig(["python", join(FIXTURES, "config_error.py"), ...flags]);
      const result = await run(["search", config, "--out", out]);
      expectConfigError(result, out, FIXTURE_REASON);
      expect(lastLine(result.stderr)).toBe(`amlfs: config error reported by worker w0 (exit code 2): ${FIXTURE_REASON}`);
    },
    CASE_TIMEOUT_MS,
  );

  it(
    "the built-in worker on a corrupt CIFAR-10 file: exit 2 naming the record, a worker-fatal event, and resume fails the same way",
    async () => {
      const root = await brokenCifar();
      const out = join(tempDir("amlfs-cfgerr-run-"), "run");
      const config = writeJson(tempDir("amlfs-cfgerr-"), {
        name: "config-error-cifar",
        seed: 0,
        baseline: { name: "resnet20" },
        dataset: { kind: "cifar10-bin", root },
        search: { B: 2, epochs: 1, M: 2 },
        workers: { count: 1, devices: "cpu", threadsPerWorker: 1, heartbeatTimeoutMs: 4000 },
        reward: { metric: "top1" },
      });
      const result = await run(["search", config, "--out", out, "--json"]);
      expectConfigError(result, out, CIFAR_CAUSE);
      const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      const fatal = events.filter((event) => event.type === "worker-fatal");
      expect(fatal, result.stdout).toEqual([expect.objectContaining({ workerId: "w0", kind: "config", reason: expect.stringMatching(CIFAR_CAUSE) })]);
      expect(events.filter((event) => event.type === "worker-lost"), result.stdout).toEqual([]);
      const ends = events.filter((event) => event.type === "run-end");
      expect(ends, result.stdout).toEqual([expect.objectContaining({ status: "failed", resumable: false, message: expect.stringMatching(CIFAR_CAUSE) })]);
      // A send to the worker that left may fail before its message is read: said once at most.
      const sendFailures = events.filter((event) => event.type === "log" && String(event.message).includes("could not send"));
      expect(sendFailures.length, result.stdout).toBeLessThanOrEqual(1);

      // Nothing was journaled or stored, and resuming the directory meets the same error, cleanly.
      expect(readdirSync(join(out, "checkpoints"))).toEqual([]);
      const journal = join(out, "journal.jsonl");
      expect(existsSync(journal) ? readFileSync(journal, "utf8") : "").toBe("");
      const resumed = await run(["resume", out]);
      expect(resumed.exitCode, resumed.all).toBe(2);
      expect(lastLine(resumed.stderr), resumed.all).toMatch(CIFAR_CAUSE);
      expect(resumed.all).not.toMatch(/resume with/);
      expect(readdirSync(join(out, "checkpoints"))).toEqual([]);
    },
    CASE_TIMEOUT_MS,
  );
});
