/** The --help texts. */
import { EXIT_CODES_HELP } from "./exit-codes.js";

/** How the controller starts workers; shared by the commands that start them. */
const WORKER_ENV_HELP = `Environment:
  AMLFS_PYTHON           Python that runs the workers (default: .venv/bin/python if present, else python3)
  AMLFS_WORKER_COMMAND   command that starts one worker instead of \`python -m amlfs.worker\`
                         (a JSON array, or words); it gets --connect/--worker-id/--run-id/--device/--threads
                         and the same values as AMLFS_CONNECT, AMLFS_WORKER_ID, ... in its environment`;

export const TOP_USAGE = `amlfs: AM-LFS loss function search (Li et al., ICCV 2019), a controller driving PyTorch workers

Usage:
  amlfs search <config.json> [--out DIR] [--json] [--workers N]
  amlfs resume <runDir> [--json]
  amlfs validate <config.json>
  amlfs compare <runDir>...
  amlfs <command> --help
  amlfs --version

Commands:
  search    start a search: B losses sampled per epoch, trained by W workers, mu updated by REINFORCE
  resume    continue a stopped run from its journal (bit-identical on CPU to an uninterrupted run)
  validate  check a config and print it with every default filled in
  compare   final test metrics of runs side by side (e.g. a baseline and its AM-LFS search)

${EXIT_CODES_HELP}
`;

export const SEARCH_USAGE = `Usage: amlfs search <config.json> [options]

Runs an AM-LFS search: each epoch samples B loss parameters theta ~ N(mu, sigmaStd^2 I),
trains one epoch per sample from the same checkpoint on W worker processes, keeps the best
model and updates mu; after the last epoch the final model is evaluated once on the test split.

Options:
  --out DIR      run directory (default <output.dir>/<name> from the config); must not hold a run
  --workers N    number of worker processes W (overrides workers.count; W <= search.B)
  --json         one JSON event per line on stdout instead of the progress view
  -h, --help     show this help

The run directory holds config.json, journal.jsonl, checkpoints/, final/ and logs/.
Ctrl-C stops the workers and leaves the run resumable with \`amlfs resume DIR\`.

${WORKER_ENV_HELP}

${EXIT_CODES_HELP}
`;

export const RESUME_USAGE = `Usage: amlfs resume <runDir> [options]

Continues a run from the last complete epoch in its journal, with the frozen config of the
run directory. A finished run is reported as such (exit 0).

Options:
  --json         one JSON event per line on stdout instead of the progress view
  -h, --help     show this help

${WORKER_ENV_HELP}

${EXIT_CODES_HELP}
`;

export const VALIDATE_USAGE = `Usage: amlfs validate <config.json>

Checks an experiment config. Prints the config with every default filled in (exit 0), or
every problem as <file>: <field>: expected ..., got ... (exit 2).

Options:
  -h, --help     show this help

${EXIT_CODES_HELP}
`;

export const COMPARE_USAGE = `Usage: amlfs compare <runDir> [<runDir> ...]

Prints one table row per run: mode, B, epochs done, the last epoch's best validation
reward and every final test metric (the test split is touched once, at the end of a run).
Reads the run directories only.

Options:
  -h, --help     show this help

Exit codes:
  0    every run has finished
  1    at least one run has no final evaluation yet (shown as "(not finished)")
  2    usage error, or a path that is not a run directory
`;

export const USAGES: Record<string, string> = {
  search: SEARCH_USAGE,
  resume: RESUME_USAGE,
  validate: VALIDATE_USAGE,
  compare: COMPARE_USAGE,
};
