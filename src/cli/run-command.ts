/**
 * What `search` and `resume` share once the run directory is ready: the progress
 * reporter, the launcher named by `workers.launcher` (LAUNCHERS below), signal handling
 * (Ctrl-C / SIGTERM stop the workers and leave the run resumable; a second signal kills
 * them at once) and the exit code.
 */
import { LocalLauncher } from "../launch/local.js";
import type { ProcessLauncher } from "../launch/process-launcher.js";
import { SlurmLauncher } from "../launch/slurm.js";
import { TorchrunLauncher } from "../launch/torchrun.js";
import { EventStream } from "../orchestrate/events.js";
import { RunError } from "../orchestrate/errors.js";
import type { RunDir } from "../orchestrate/run-dir.js";
import { type RunOutcome, runIn } from "../orchestrate/run.js";
import type { Experiment } from "../schema/index.js";
import { EXIT } from "./exit-codes.js";
import { JsonReporter } from "./progress/json.js";
import { LiveReporter } from "./progress/live.js";
import { PlainReporter } from "./progress/plain.js";
import type { Reporter } from "./progress/reporter.js";
import { summaryLines } from "./summary.js";
import { workerCommand } from "./worker-command.js";

interface LauncherEntry {
  /** Where the controller binds; unset: loopback (src/transport/router.ts). */
  bindTo?: string;
  make(config: Experiment, common: CommonOptions): ProcessLauncher;
}

/** What every launcher takes from the config and the run directory. */
interface CommonOptions {
  count: number;
  devices: Experiment["workers"]["devices"];
  threadsPerWorker: number | undefined;
  logsDir: string;
  log: (line: string) => void;
  command?: string[];
}

function commonOptions(config: Experiment, logsDir: string, log: (line: string) => void, command: string[] | undefined): CommonOptions {
  const { count, devices, threadsPerWorker } = config.workers;
  return { count, devices, threadsPerWorker, logsDir, log, ...(command === undefined ? {} : { command }) };
}

/** How each `workers.launcher` starts workers. */
const LAUNCHERS: Record<Experiment["workers"]["launcher"], LauncherEntry> = {
  local: { make: (_config, common) => new LocalLauncher(common) },
  // Workers on other nodes connect over TCP to any of this host's addresses (with CURVE, run.ts).
  slurm: {
    bindTo: "tcp://0.0.0.0:*",
    make: ({ workers }, common) => new SlurmLauncher({ ...common, ...(workers.slurm === undefined ? {} : { slurm: workers.slurm }) }),
  },
  // One DDP group per worker on this host; only its rank 0 connects (src/launch/torchrun.ts).
  torchrun: {
    make: ({ workers }, common) =>
      new TorchrunLauncher({ ...common, ...(workers.torchrun === undefined ? {} : { torchrun: workers.torchrun }) }),
  },
};

export interface RunCommandOptions {
  json: boolean;
  resumed: boolean;
}

export function makeReporter(json: boolean): Reporter {
  if (json) return new JsonReporter(process.stdout);
  return process.stdout.isTTY === true ? new LiveReporter(process.stdout) : new PlainReporter(process.stdout);
}

export async function runCommand(dir: RunDir, config: Experiment, options: RunCommandOptions): Promise<number> {
  const entry = LAUNCHERS[config.workers.launcher];
  const command = workerCommand(config.workers.command);
  const reporter = makeReporter(options.json);
  const events = new EventStream();
  events.subscribe((event) => reporter.onEvent(event));
  const abort = new AbortController();
  let signal: NodeJS.Signals | null = null;
  let launcher: ProcessLauncher | null = null;
  const onSignal = (received: NodeJS.Signals) => {
    if (signal !== null) {
      // A second signal: no more waiting for the workers.
      launcher?.killNow();
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
      ...(entry.bindTo === undefined ? {} : { bindTo: entry.bindTo }),
      launcher: ({ runDir, log }) => {
        launcher = entry.make(config, commonOptions(config, runDir.logsDir, log, command));
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
      // Said on stderr in --json mode too (stdout is the events'), so a failure before the
      // first event (a damaged journal, a corrupt checkpoint, a held lock) is never silent; a
      // config error's cause is the last line there (`worker-fatal` and `run-end` carry it on stdout).
      process.stderr.write(`amlfs: ${error.message}\n`);
      return error.config ? EXIT.usage : EXIT.runFailed;
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
