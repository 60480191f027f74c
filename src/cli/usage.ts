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
  amlfs search <config.json> [--out DIR] [--json] [--workers N] [--no-data-check]
  amlfs resume <runDir> [--json] [--repair | --from-epoch N] [--no-data-check]
  amlfs validate <config.json> [--no-data-check]
  amlfs compare <runDir>...
  amlfs report <runDir> [--baseline <runDir>] [--png]
  amlfs doctor [config.json] [--json]
  amlfs inspect-space <config.json> [--samples K] [--classes C] [--scale S|linear] [--json]
  amlfs <command> --help
  amlfs --version

Commands:
  search    start a search: B losses sampled per epoch, trained by W workers, mu updated by REINFORCE
  resume    continue a stopped run from its journal (bit-identical on CPU to an uninterrupted run)
  validate  check a config and print it with every default filled in
  compare   final test metrics of runs side by side (e.g. a baseline and its AM-LFS search)
  report    figures and a self-contained report.html of a run (mu, t/tau, gradients, rewards, metrics)
  doctor    check this machine (Node, Python, torch, ZeroMQ, launcher, a config's dataset) and how to fix it
  inspect-space  how many of the losses a config samples train at the start of training (before GPU hours)

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
  --no-data-check  do not look for dataset.root's layout on this machine (data that only the
                   workers' nodes see, e.g. a Slurm cluster without a shared file system);
                   the workers still check it and a problem stops the run with exit 2
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
  --json           one JSON event per line on stdout instead of the progress view
  --repair         first drop the journal's last line if it was cut short (its bytes are kept
                   in <runDir>/journal.dropped-<time>.jsonl); any other damage is left alone
  --from-epoch N   first go back to the last checkpoint at or before epoch N whose sha256
                   verifies (N from 0 to the number of epochs recorded), and continue from it;
                   the later journal records, checkpoints and final/ are kept in
                   <runDir>/rolled-back-<time>/. For a corrupt checkpoint or a journal
                   damaged before its end (the error names the N to use)
  --no-data-check  do not look for dataset.root's layout on this machine (data that only the
                   workers' nodes see, e.g. a Slurm cluster without a shared file system);
                   the workers still check it and a problem stops the run with exit 2
  -h, --help       show this help

Both act under the run directory's lock, delete nothing and say what they did
(docs/journal.md, "Damage and the way back").

${WORKER_ENV_HELP}

${EXIT_CODES_HELP}
`;

export const VALIDATE_USAGE = `Usage: amlfs validate <config.json>

Checks an experiment config: its fields, the baseline's options against the baseline's own
table, the baseline against the dataset, dataset.root's layout on disk and the files the
baseline's options name (pretrainedPath, lfwRoot, pairsTxt). Prints the
config with every default filled in (exit 0), or every problem as
<file>: <field>: expected ..., got ... (exit 2).

Options:
  --no-data-check  do not look for dataset.root's layout on this machine (data that only the
                   workers' nodes see, e.g. a Slurm cluster without a shared file system);
                   the workers still check it and a problem stops the run with exit 2
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

export const DOCTOR_USAGE = `Usage: amlfs doctor [config.json] [options]

Checks that this machine can run a search and prints one line per check (ok, info, warn,
FAIL), each problem with the command or setting that fixes it (docs/doctor.md):
Node.js and the npm packages against package.json; zeromq.js (libzmq, CURVE); through
pythonia, the workers' Python: its version, amlfs and its requirements, torch and its CUDA
devices, pyzmq (libzmq, CURVE), the wire protocol version both sides speak; srun, squeue,
scancel, sinfo and torchrun on PATH. With a config: the config itself (errors as in
\`amlfs validate\`), the programs its workers.launcher needs, its CUDA devices, and whether
its dataset is in the expected on-disk layout (file names and sizes; no image is read).

Options:
  --json         one JSON object on stdout: {ok, config, checks: [{check, status, detail, fix?}], python}
  -h, --help     show this help

Environment:
  AMLFS_PYTHON             Python to check (default: .venv/bin/python if present, else python3)
  AMLFS_DOCTOR_TIMEOUT_MS  how long the Python side may take (default 60000)

Exit codes:
  0    no check failed (warnings allowed)
  1    at least one check failed (each FAIL line has its fix)
  2    usage error, or a config that does not validate
`;

export const REPORT_USAGE = `Usage: amlfs report <runDir> [options]

Writes <runDir>/report/report.html (self-contained: inline SVG and CSS, no script, no URL)
and one SVG per figure (docs/report.md): mu of every parameter over the epochs (paper
Figure 3); t and tau of the final mu beside the identity and CosFace t(x) = x - m (the
run's cosineMargin init, else m = 0.40; Figure 1); the gradient magnitude on the target logit (Figure 4); the rewards per epoch;
the final test metrics in the paper's table layout. The loss curves are computed by the
Python loss (amlfs.report_curves, through pythonia), the code that trains.

Options:
  --baseline DIR   a baseline run whose final metrics go beside this run's
  --classes C      classes of the gradient figure's setting (default 10; other logits 0)
  --scale S        scale s of the gradient figure's setting, logit = s * cosine (default 10)
  --png            also a PNG of each figure, from headless Chromium (\`make browser\`)
  -h, --help       show this help

Environment:
  AMLFS_PYTHON     Python with amlfs (default: .venv/bin/python if present, else python3)
  AMLFS_CHROMIUM   Chromium for --png (default /usr/bin/chromium)

Exit codes:
  0    report written
  1    the report could not be drawn (no finished epoch, Python or Chromium missing)
  2    usage error, or a path that is not a run directory
`;

export const INSPECT_SPACE_USAGE = `Usage: amlfs inspect-space <config.json> [options]

Before spending GPU hours: how many of the losses the config would sample train at the start
of training (docs/inspect-space.md). Draws the first K samples of epoch 0 as the run does
(the config's mu_0, sigmaStd, M and seed: with K = B they are the run's first draws), maps
them to the trained losses by the config's search.space and, side by side, by the other
forms (anchored, power, paper), and on start-of-training cosines computes for each sample,
with the Python loss that trains: |d mean loss / d cosine| relative to mu_0's (mapped by the same form), the share of
examples whose tau is floored, and the share whose gradient factor c is below 0.01.
Prints one row per form: the samples whose gradient is < 1 % of mu_0's, the median and
minimum ratio, the mean floored and dead shares; then a one-line verdict.

The cosines: N random examples, features and class weights with N(0, 1/512) entries in 512
dims (seeded), C classes from the config's dataset and the scale of its baseline's head
(digits, cifar10-bin 10; market1501 751; dukemtmc-reid 702; casia-webface 10575;
synthetic-classes the cosine-mlp option classes, 1000; spherereid s = 14, sft 15, cosface
and cosine-mlp 30 or their scale option; small-cnn, resnet20, mgn: a linear head).

Options:
  --samples K      samples to draw (default 32)
  --classes C      classes C >= 2 (default: the config's)
  --scale S        S > 0: a normalized head, logit = S * cosine; "linear": a plain linear head,
                   s_j = ||W_j|| ||x|| of the random features (about 1) (default: the config's)
  --examples N     random examples (default 256)
  --seed S         seed of the random cosines (default: the config's seed; the samples always
                   use the config's seed, as the run)
  --cosines FILE   your own start-of-training inputs instead of random ones: JSON
                   {"cosine": [[...]] (N x C), "target": [...] (N), "scale": number or [[...]]}
  --json           one JSON object on stdout (every sample's theta, loss theta and numbers)
  -h, --help       show this help

Environment:
  AMLFS_PYTHON     Python with amlfs (default: .venv/bin/python if present, else python3)

Exit codes:
  0    inspected (whatever the verdict)
  1    the numbers could not be computed (Python missing, a baseline option it rejects)
  2    usage error, or a config that does not validate
`;

export const USAGES: Record<string, string> = {
  search: SEARCH_USAGE,
  resume: RESUME_USAGE,
  validate: VALIDATE_USAGE,
  compare: COMPARE_USAGE,
  report: REPORT_USAGE,
  doctor: DOCTOR_USAGE,
  "inspect-space": INSPECT_SPACE_USAGE,
};
