/**
 * One run of bench/search_efficacy.ts through the real CLI, `npx amlfs search <config> --out <dir>`,
 * and what the report needs from its run directory (read as `amlfs compare` reads it).
 *
 * Next to the run directory `<dir>`: `<dir>.json` (the config given), `<dir>.log` (the
 * command's output) and `<dir>.bench.json` (exit code, wall time, the config text). A run
 * whose journal has its final record and whose config is unchanged is read again, not rerun,
 * so an interrupted grid continues where it stopped when given the same --out-dir.
 */
import { createWriteStream, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { execa } from "execa";
import { readRunOutcome } from "../../src/orchestrate/run-outcome.js";

export interface RunResult {
  runDir: string;
  exitCode: number;
  /** Seconds, command start to exit (worker start-up and final evaluation included). */
  wallS: number;
  /** Read from an earlier invocation with the same config. */
  reused: boolean;
  /** Final test top-1 (a fraction), null when the run did not finish. */
  top1: number | null;
  epochsDone: number;
  /** Epochs whose best validation reward was <= 1 / classes; null when the classes are unknown. */
  epochsAtChance: number | null;
  error?: string;
}

interface Sidecar {
  exitCode: number;
  wallS: number;
  config: string;
}

function readSidecar(path: string): Sidecar | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Sidecar;
  } catch {
    return undefined;
  }
}

async function finished(runDir: string): Promise<boolean> {
  try {
    return (await readRunOutcome(runDir)).final !== undefined;
  } catch {
    return false;
  }
}

/** Runs (or reads again) the config `configText` as the run directory `runDir`, from `repoRoot`. */
export async function runSearch(repoRoot: string, runDir: string, configText: string, classes: number | undefined): Promise<RunResult> {
  const configPath = `${runDir}.json`;
  const logPath = `${runDir}.log`;
  const sidecarPath = `${runDir}.bench.json`;
  let sidecar = readSidecar(sidecarPath);
  const reused = sidecar !== undefined && sidecar.config === configText && (await finished(runDir));
  if (!reused) {
    rmSync(runDir, { recursive: true, force: true });
    writeFileSync(configPath, configText);
    const log = createWriteStream(logPath);
    await once(log, "open");
    const started = performance.now();
    const child = await execa("npx", ["amlfs", "search", configPath, "--out", runDir], {
      cwd: repoRoot,
      reject: false,
      stdin: "ignore",
      stdout: log,
      stderr: log,
    });
    sidecar = { exitCode: child.exitCode ?? -1, wallS: (performance.now() - started) / 1000, config: configText };
    log.end();
    writeFileSync(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  }
  const { exitCode, wallS } = sidecar as Sidecar;
  const result: RunResult = { runDir, exitCode, wallS, reused, top1: null, epochsDone: 0, epochsAtChance: null };
  if (!existsSync(runDir)) return { ...result, error: `no run directory (exit code ${exitCode}; see ${logPath})` };
  try {
    const outcome = await readRunOutcome(runDir);
    const chance = classes === undefined ? undefined : 1 / classes;
    const top1 = outcome.final?.metrics.top1;
    return {
      ...result,
      top1: typeof top1 === "number" ? top1 : null,
      epochsDone: outcome.epochs.length,
      epochsAtChance: chance === undefined ? null : outcome.epochs.filter((epoch) => epoch.bestReward <= chance).length,
      ...(outcome.final === undefined ? { error: `not finished (exit code ${exitCode}; see ${logPath})` } : {}),
    };
  } catch (error) {
    return { ...result, error: `${(error as Error).message} (exit code ${exitCode}; see ${logPath})` };
  }
}
