/**
 * What `search` and `resume` share once the run directory is ready: the progress
 * reporter, the local launcher, signal handling (Ctrl-C / SIGTERM stop the workers and
 * leave the run resumable; a second signal kills them at once) and the exit code.
 */
import type { Launcher } from "../launch/launcher.js";
import { LocalLauncher } from "../launch/local.js";
import { EventStream } from "../orchestrate/events.js";
import { RunError } from "../orchestrate/errors.js";
import type { RunDir } from "../orchestrate/run-dir.js";
import { type RunOutcome, runIn } from "../orchestrate/run.js";
import type { Experiment } from "../schema/index.js";
import { UsageError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { JsonReporter } from "./progress/json.js";
import { LiveReporter } from "./progress/live.js";
import { PlainReporter } from "./progress/plain.js";
import type { Reporter } from "./progress/reporter.js";
import { summaryLines } from "./summary.js";
import { workerCommand } from "./worker-command.js";

export interface RunCommandOptions {
  json: boolean;
  resumed: boolean;
}

export function makeReporter(json: boolean): Reporter {
  if (json) return new JsonReporter(process.stdout);
  return process.stdout.isTTY === true ? new LiveReporter(process.stdout) : new PlainReporter(process.stdout);
}

export async function runCommand(dir: RunDir, config: Experiment, options: RunCommandOptions): Promise<number> {
  if (config.workers.launcher !== "local") {
    throw new UsageError(`workers.launcher: "${config.workers.launcher}" is not available yet; use "local"`, null);
  }
  const command = workerCommand();
  const reporter = makeReporter(options.json);
  const events = new EventStream();
  events.subscribe((event) => reporter.onEvent(event));
  const abort = new AbortController();
  let signal: NodeJS.Signals | null = null;
  let launcher: LocalLauncher | null = null;
  const onSignal = (received: NodeJS.Signals) => {
    if (signal !== null) {
      // A second signal: no more waiting for the workers.
      for (const pid of launcher?.pids() ?? []) killGroup(pid);
      process.exit(received === "SIGINT" ? EXIT.sigint : EXIT.sigterm);
    }
    signal = received;
    abort.abort(received);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const outcome: RunOutcome = await runIn(dir, config, options.resumed, {
      events,
      signal: abort.signal,
      launcher: ({ runDir, log }): Launcher => {
        launcher = new LocalLauncher({
          count: config.workers.count,
          devices: config.workers.devices,
          threadsPerWorker: config.workers.threadsPerWorker,
          logsDir: runDir.logsDir,
          ...(command === undefined ? {} : { command }),
          log,
        });
        return launcher;
      },
    });
    if (outcome.status === "already-finished") reporter.line(`run ${outcome.runDir} is already finished; nothing to resume`);
    finish(reporter, options.json, outcome);
    return EXIT.ok;
  } catch (error) {
    reporter.close();
    if (signal !== null) return signal === "SIGINT" ? EXIT.sigint : EXIT.sigterm;
    if (error instanceof RunError) {
      if (!options.json) process.stderr.write(`amlfs: ${error.message}\n`);
      return EXIT.runFailed;
    }
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function finish(reporter: Reporter, json: boolean, outcome: RunOutcome): void {
  if (json && reporter instanceof JsonReporter) {
    const { epochs, mu, final } = outcome.summary;
    reporter.emit({ type: "summary", status: outcome.status, runDir: outcome.runDir, epochs, mu, final, time: new Date().toISOString() });
  } else {
    for (const text of summaryLines(outcome.runDir, outcome.summary)) reporter.line(text);
  }
  reporter.close();
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
