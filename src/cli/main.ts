/**
 * `amlfs`: the command line. `main(argv)` parses the arguments, runs one command and
 * returns its exit code (documented in every --help; see exit-codes.ts).
 */
import { readFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { RunError } from "../orchestrate/errors.js";
import { type RepairRequest, repairRun } from "../orchestrate/repair.js";
import { RunDir } from "../orchestrate/run-dir.js";
import { checkHeartbeats } from "../orchestrate/run.js";
import { ConfigError } from "../schema/index.js";
import { readRunOutcome } from "../orchestrate/run-outcome.js";
import { compareTable } from "./compare.js";
import { doctorCommand } from "./doctor.js";
import { UsageError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { inspectSpaceCommand } from "./inspect-space.js";
import { readConfigFile } from "./load-config.js";
import { preflight } from "./preflight.js";
import { reportCommand } from "./report.js";
import { runCommand } from "./run-command.js";
import { TOP_USAGE, USAGES } from "./usage.js";

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Preflight warnings on stderr (stdout may be JSON). */
function warn(io: Io, notes: readonly string[]): void {
  for (const note of notes) io.err(`warning: ${note}\n`);
}

const defaultIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`amlfs: ${error.message}\n\n${error.command === null ? TOP_USAGE : USAGES[error.command]}`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      io.err(`${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof RunError) {
      io.err(`amlfs: ${error.message}\n`);
      return error.resumable ? EXIT.runFailed : EXIT.usage;
    }
    io.err(`amlfs: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.runFailed;
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.out(TOP_USAGE);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === "--version" || command === "-V") {
    io.out(`${version()}\n`);
    return EXIT.ok;
  }
  if (!(command in USAGES)) throw new UsageError(`unknown command ${JSON.stringify(command)}`, null);
  if (command === "report") return reportCommand(rest, io); // its own options (--baseline, --png, ...)
  if (command === "inspect-space") return inspectSpaceCommand(rest, io); // its own options (--samples, --scale, ...)
  const args = parse(command, rest);
  if (args.help) {
    io.out(USAGES[command] as string);
    return EXIT.ok;
  }
  if (command === "doctor") return doctorCommand(args.positionals, { json: args.json }, io);
  if (command === "compare") {
    if (args.positionals.length === 0) throw new UsageError("compare: expected one or more run directories", command);
    const runs = await Promise.all(args.positionals.map((path) => readRunOutcome(path)));
    io.out(compareTable(runs));
    return runs.every((run) => run.final !== undefined) ? EXIT.ok : EXIT.runFailed;
  }
  const [target, ...extra] = args.positionals;
  if (target === undefined) throw new UsageError(`${command}: expected ${command === "resume" ? "a run directory" : "a config file"}`, command);
  if (extra.length > 0) throw new UsageError(`${command}: unexpected argument ${JSON.stringify(extra[0])}`, command);

  switch (command) {
    case "validate": {
      const config = await readConfigFile(target);
      if (args.dataCheck) warn(io, preflight(config, target));
      io.out(`${JSON.stringify(config, null, 2)}\n`);
      return EXIT.ok;
    }
    case "search": {
      const config = await readConfigFile(target, args.workers === undefined ? {} : { workers: args.workers });
      if (args.dataCheck) warn(io, preflight(config, target)); // before the run directory exists and any worker starts
      checkHeartbeats(config, undefined, target);
      const dir = await RunDir.create(args.out ?? `${config.output.dir}/${config.name}`, config);
      return runCommand(dir, config, { json: args.json, resumed: false });
    }
    default: {
      const { dir, config } = await RunDir.open(target);
      if (args.dataCheck) warn(io, preflight(config, `${dir.path}/config.json`));
      // Under the run's lock, before the run continues; with --json, stdout is the events' alone.
      if (args.repair !== null) io[args.json ? "err" : "out"](`${await repairRun(dir, args.repair)}\n`);
      return runCommand(dir, config, { json: args.json, resumed: true });
    }
  }
}

interface Parsed {
  help: boolean;
  json: boolean;
  out: string | undefined;
  workers: number | undefined;
  /** False with --no-data-check: `dataset.root` is not looked at here (data only the workers' nodes see). */
  dataCheck: boolean;
  /** resume --repair / --from-epoch N: what to mend under the lock before continuing. */
  repair: RepairRequest | null;
  positionals: string[];
}

function parse(command: string, argv: readonly string[]): Parsed {
  const options: ParseArgsConfig["options"] = {
    help: { type: "boolean", short: "h" },
    ...(command === "validate" || command === "compare" ? {} : { json: { type: "boolean" } }),
    ...(command === "search" ? { out: { type: "string" }, workers: { type: "string" } } : {}),
    ...(command === "resume" ? { repair: { type: "boolean" }, "from-epoch": { type: "string" } } : {}),
    ...(command === "validate" || command === "search" || command === "resume" ? { "no-data-check": { type: "boolean" } } : {}),
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`, command, { cause: error });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  let workers: number | undefined;
  if (typeof values.workers === "string") {
    workers = Number(values.workers);
    if (!/^\d+$/.test(values.workers) || workers < 1) {
      throw new UsageError(`${command}: --workers: expected an integer >= 1, got ${JSON.stringify(values.workers)}`, command);
    }
  }
  return {
    help: values.help === true,
    json: values.json === true,
    out: typeof values.out === "string" ? values.out : undefined,
    workers,
    dataCheck: values["no-data-check"] !== true,
    repair: repairRequest(command, values),
    positionals: parsed.positionals,
  };
}

function repairRequest(command: string, values: Record<string, string | boolean | undefined>): RepairRequest | null {
  const fromEpoch = values["from-epoch"];
  if (values.repair === true && fromEpoch !== undefined) {
    throw new UsageError(`${command}: expected --repair or --from-epoch, not both (--from-epoch also sets aside a damaged last line)`, command);
  }
  if (values.repair === true) return { kind: "tail" };
  if (typeof fromEpoch !== "string") return null;
  if (!/^\d+$/.test(fromEpoch) || !Number.isSafeInteger(Number(fromEpoch))) {
    throw new UsageError(`${command}: --from-epoch: expected an epoch, an integer >= 0, got ${JSON.stringify(fromEpoch)}`, command);
  }
  return { kind: "from-epoch", epoch: Number(fromEpoch) };
}
