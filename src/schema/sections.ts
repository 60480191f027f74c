/** The sections of the experiment config (see experiment.ts), one schema each. */
import { z } from "zod";
import { SPACE_FORMS, T_SCALE_GRADS } from "../search/space-form.js";
import { CATALOG, CATALOG_BASELINES, CATALOG_DATASET_KINDS, CATALOG_REWARD_METRICS } from "./catalog.js";
import { between, integer, positive, slug, uint32 } from "./fields.js";

/** The built-in baselines, datasets and reward metrics: proto/catalog.json, generated from the Python registries. */
export const BASELINES = CATALOG_BASELINES;
export const DATASET_KINDS = CATALOG_DATASET_KINDS;
export type DatasetKind = (typeof DATASET_KINDS)[number];
/** Dataset kinds generated or bundled, nothing read from `dataset.root` (which must stay empty). */
export const BUILT_IN_DATASETS: readonly DatasetKind[] = DATASET_KINDS.filter((kind) => CATALOG.datasets[kind]?.builtIn === true);
export const SEARCH_MODES = ["amlfs", "fixed", "baseline"] as const;
export const LAUNCHERS = ["local", "torchrun", "slurm"] as const;
export const REWARD_METRICS = CATALOG_REWARD_METRICS;

/** Default number of samples per epoch outside baseline mode (docs/design.md, The algorithm). */
export const DEFAULT_B = 32;
/**
 * Bounds that keep a typo from exhausting the controller: every epoch holds B thetas of
 * 4M numbers in memory and in the journal (the paper uses B = 32, M = 6; the scale check
 * ran B = 256).
 */
export const MAX_B = 4096;
export const MAX_M = 64;
/** More bounds, so that a typo is a config error rather than a run that never ends or a timer that overflows. */
export const MAX_EPOCHS = 100_000;
export const MAX_THREADS = 1024;
export const MAX_PROCS_PER_WORKER = 64;
export const MAX_GPUS_PER_WORKER = 64;
/** One day; Node's timers overflow past 2^31 - 1 ms (about 24.8 days) and fire at once. */
export const MAX_HEARTBEAT_TIMEOUT_MS = 86_400_000;

/** Classification datasets, whose training labels `dataset.labelNoise` can corrupt (re-ID and face ones cannot). */
export const LABEL_NOISE_DATASETS: readonly DatasetKind[] = DATASET_KINDS.filter((kind) => CATALOG.datasets[kind]?.labelNoise === true);

/** Which reward metrics make sense for which dataset (validation split): those of the baselines that run on it. */
export const METRICS_BY_DATASET: Readonly<Record<DatasetKind, readonly string[]>> = Object.fromEntries(
  DATASET_KINDS.map((kind) => [kind, CATALOG.datasets[kind]?.rewardMetrics ?? []]),
);

export const baselineSection = z
  .strictObject({
    name: z
      .string({ error: "expected a baseline name" })
      .min(1, { error: "expected a baseline name" })
      .describe(
        `Built-in baseline whose softmax branch(es) the searched loss replaces: one of ${BASELINES.join(", ")} ` +
          "(docs/catalog.md); with workers.command (your own worker program), any non-empty name.",
      ),
    options: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "Baseline-specific options (docs/catalog.md), checked against the baseline's option table in " +
          "proto/catalog.json: an unknown name or a value of the wrong type is a config error; free-form with workers.command.",
      ),
  })
  .describe("The model, its data pipeline and its training recipe.");

export const datasetSection = z
  .strictObject({
    kind: z.enum(DATASET_KINDS).describe("Dataset and on-disk layout (docs/catalog.md)."),
    root: z
      .string()
      .default("")
      .describe(
        `Directory of the dataset in its standard layout, relative to the directory amlfs runs in; empty for the built-in ${BUILT_IN_DATASETS.join(" and ")}. ` +
          "`amlfs validate`, `search` and `resume` check that it holds the layout before any worker starts.",
      ),
    splits: z
      .strictObject({
        valFraction: between(0, 1, "open")
          .default(0.1)
          .describe("Fraction of the training set held out as the validation split that rewards are measured on."),
        splitSeed: uint32()
          .default(0)
          .describe(
            "Seed of the train/validation split (also of digits' test hold-out and of the generated synthetic-classes " +
              "data), independent of the search seed.",
          ),
      })
      .prefault({})
      .describe(
        "How the validation split is carved out of the training set (the test split is never used for rewards).",
      ),
    labelNoise: z
      .strictObject({
        ratio: between(0, 1, "closedOpen").describe("Fraction of training labels replaced by a random other class."),
        seed: uint32().default(0).describe("Seed of the label corruption."),
      })
      .optional()
      .describe("Symmetric label noise on the training split (the paper's noisy CIFAR-10 runs)."),
  })
  .describe("Where the data comes from and how it is split.");

export const initSchema = z
  .discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("identity") }).describe("Plain softmax cross-entropy."),
    z
      .strictObject({
        kind: z.literal("cosineMargin"),
        margin: z.number().describe("Margin m of t(x) = x - m, in cosine units (not radians)."),
      })
      .describe("CosFace / AM-softmax: t(x) = x - margin, tau the identity."),
    z
      .strictObject({
        kind: z.literal("theta"),
        theta: z.array(z.number()).describe("Explicit mu_0 = [a_t (M), b_t (M), a_tau (M), b_tau (M)], length 4M."),
      })
      .describe("An explicit initial mu."),
  ])
  .prefault({ kind: "identity" })
  .describe("Initial mean mu_0 of the sampling distribution.");

export const searchSection = z
  .strictObject({
    mode: z
      .enum(SEARCH_MODES)
      .default("amlfs")
      .describe(
        "amlfs: sample and update mu; fixed: sample around mu_0, never update; baseline: train theta = mu_0 alone.",
      ),
    B: integer(1, MAX_B)
      .optional()
      .describe(`Samples (tasks) per epoch. Default ${DEFAULT_B}; in baseline mode it must be 1 and defaults to 1.`),
    M: integer(1, MAX_M).default(6).describe("Number of intervals of t and tau; theta has length 4M."),
    sigmaStd: positive()
      .default(0.2)
      .describe("Standard deviation of each coordinate of theta_k ~ N(mu, sigmaStd^2 I) (not a variance)."),
    lr: positive().default(0.05).describe("Adam learning rate of the ascent on mu."),
    epochs: integer(1, MAX_EPOCHS).describe(`Number of training epochs; one policy update per epoch (at most ${MAX_EPOCHS}).`),
    init: initSchema,
    space: z
      .enum(SPACE_FORMS)
      .default("power")
      .describe(
        'How a sampled theta becomes the trained loss (docs/algorithm.md, "Space forms"). anchored: tau(0) = 0 (b_tau[0] ' +
          "is not sampled, so the hardest examples keep cross-entropy's gradient) and slopes used as |a|; power: tau(p) = " +
          "K_i p^|a_tau[i]| on each interval, continuous (the gradient factor is |a_tau[i]|, b_tau unused); paper: the " +
          "sample is the loss, as the paper reads literally.",
      ),
    tScaleGrad: z
      .enum(T_SCALE_GRADS)
      .default("plain")
      .describe(
        "With an unnormalized head (scale = ||W_j|| ||x||), how the scale gets its gradient through the target logit " +
          "s_y t(cos_y): plain, as for s_y cos_y, so t cannot be met by growing the scale; full, through t (the paper " +
          "read literally). No effect on normalized heads (a fixed scale s).",
      ),
  })
  .describe("The loss-function search (Li et al., ICCV 2019, Sec. 4.1).");

/** `workers.slurm`: how `srun` starts each worker as a job step (src/launch/slurm.ts). */
export const slurmOptions = z.strictObject({
  partition: z.string().min(1).optional().describe("srun --partition; unset: the cluster's default."),
  account: z.string().min(1).optional().describe("srun --account; unset: the user's default."),
  timeLimit: z.string().min(1).optional().describe('srun --time of each worker step, Slurm syntax ("1:00:00"); unset: the default.'),
  gpusPerWorker: integer(0, MAX_GPUS_PER_WORKER)
    .optional()
    .describe(`srun --gpus-per-task (at most ${MAX_GPUS_PER_WORKER}); unset: 1 when workers.devices lists cuda devices, else 0 (CPU workers).`),
  controllerHost: z
    .string()
    .min(1)
    .optional()
    .describe("Host name or address the workers connect to; unset: this host's name (os.hostname())."),
  extraArgs: z.array(z.string()).optional().describe('More srun arguments, placed before the worker command (e.g. ["--mem=8G"]).'),
});

/** `workers.torchrun`: the DDP group of each worker (src/launch/torchrun.ts). */
export const torchrunOptions = z.strictObject({
  procsPerWorker: integer(1, MAX_PROCS_PER_WORKER)
    .default(2)
    .describe(
      `Processes (DDP ranks) of each worker (at most ${MAX_PROCS_PER_WORKER}), torchrun --nproc-per-node: each batch is split between them and their ` +
        "gradients averaged; with CUDA devices each rank gets its own GPU, on CPU each gets workers.threadsPerWorker threads.",
    ),
});

export const workersSection = z
  .strictObject({
    count: integer(1, MAX_B).default(1).describe("Number of worker processes W (W <= B); each runs one sample at a time."),
    launcher: z.enum(LAUNCHERS).default("local").describe("How workers are started."),
    devices: z
      .union([
        z.enum(["auto", "cpu"]),
        z
          .array(z.string().regex(/^(cpu|cuda:\d+)$/, { error: 'expected a device name like "cuda:0" or "cpu"' }), {
            error: 'expected an array of device names like ["cuda:0", "cuda:1"]',
          })
          .min(1, { error: "expected at least one device" }),
      ])
      .default("auto")
      .describe('"auto" (one worker per visible GPU, else CPU), "cpu", or explicit devices like ["cuda:0", "cuda:1"].'),
    threadsPerWorker: integer(1, MAX_THREADS)
      .optional()
      .describe(`CPU threads per worker (torch.set_num_threads, at most ${MAX_THREADS}); unset: automatic.`),
    heartbeatTimeoutMs: integer(1, MAX_HEARTBEAT_TIMEOUT_MS)
      .default(30_000)
      .describe(`A worker silent for longer than this, in milliseconds, is declared lost (at most ${MAX_HEARTBEAT_TIMEOUT_MS}, one day).`),
    command: z
      .array(z.string().min(1, { error: "expected a non-empty string" }), { error: 'expected an array of strings like ["python", "train.py"]' })
      .min(1, { error: "expected the program and its arguments, at least one string" })
      .optional()
      .describe(
        'Your own worker program and its arguments, started instead of `python -m amlfs.worker` (docs/plug-in.md), with ' +
          '--connect/--worker-id/--run-id/--device/--threads appended and the same values in AMLFS_*; run in the directory ' +
          'amlfs runs in; a first element "python" is the Python that runs the built-in worker. $AMLFS_WORKER_COMMAND overrides it.',
      ),
    slurm: slurmOptions.optional().describe('Options of launcher "slurm" (docs/launchers.md); ignored by the others.'),
    torchrun: torchrunOptions.optional().describe('Options of launcher "torchrun" (docs/launchers.md); ignored by the others.'),
  })
  .prefault({})
  .describe("The worker processes that train the samples.");

export const rewardSection = z
  .strictObject({
    metric: z
      .enum(REWARD_METRICS)
      .describe(
        "Validation metric used as the reward: top1 (classification), mAP or rank1 (re-ID), " +
          "verificationAccuracy (face).",
      ),
  })
  .describe("How each sample is scored.");

export const outputSection = z
  .strictObject({
    dir: z
      .string()
      .min(1, { error: "expected a non-empty path" })
      .default("runs")
      .describe("Parent directory of run directories (<dir>/<name>/)."),
  })
  .prefault({})
  .describe("Where results are written.");
