/**
 * Wire messages between the controller and its workers (docs/protocol.md).
 *
 * One zod schema per message type; `proto/wire.schema.json` is generated from
 * `wireMessage` and the Python worker validates every header against it.
 */
import { z } from "zod";
import { lossStats } from "./loss-stats.js";

export const PROTOCOL_VERSION = 1;
/** Largest JSON header accepted, in bytes. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Largest checkpoint chunk (one `checkpointChunk` payload frame), in bytes. */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** Most chunks one `credit` may grant. */
export const MAX_CREDIT_CHUNKS = 1024;
/**
 * Transfer defaults both sides use unless configured (docs/protocol.md): chunks of 4 MiB, 4
 * unacknowledged chunks at most, 60 s without progress, checkpoints of at most 4 GiB. They
 * reach the Python worker through the generated schema (`x-default*`, `x-maxCheckpointBytes`).
 */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
export const DEFAULT_WINDOW_CHUNKS = 4;
export const DEFAULT_TRANSFER_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_CHECKPOINT_BYTES = 4 * 1024 ** 3;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex sha256 (64 characters)");
const workerId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "a worker id of letters, digits, _ . - (1 to 64)");
const nonNegInt = z.number().int().min(0);
const finiteOrNull = z.number().nullable();

const common = {
  protocol: z.literal(PROTOCOL_VERSION).describe("protocol version"),
  msgId: z.string().min(1).max(128).describe("unique per sender"),
  replyTo: z.string().min(1).max(128).optional().describe("msgId this message answers"),
  runId: z.string().min(1).max(128),
  sender: z.union([workerId, z.literal("controller")]),
};

function message<T extends string, S extends z.ZodRawShape>(type: T, shape: S, description: string) {
  return z.strictObject({ ...common, type: z.literal(type), ...shape }).describe(description);
}

export const hello = message(
  "hello",
  {
    pid: nonNegInt,
    host: z.string().max(256),
    device: z.string().max(64).describe("torch device, e.g. cpu or cuda:0"),
    threads: z.number().int().min(1).describe("torch intra-op threads"),
    versions: z.strictObject({
      python: z.string().max(64),
      torch: z.string().max(64),
      amlfs: z.string().max(64),
      pyzmq: z.string().max(64),
    }),
    adapter: z.string().max(64).describe("baseline (adapter) the worker runs"),
    datasetSizes: z.strictObject({ train: nonNegInt, val: nonNegInt, test: nonNegInt }),
  },
  "worker -> controller: first message after connecting",
);

export const welcome = message(
  "welcome",
  {
    heartbeatIntervalMs: z.number().int().min(10),
    heartbeatTimeoutMs: z.number().int().min(100),
    experiment: z.record(z.string(), z.unknown()).describe("the frozen, validated experiment config"),
  },
  "controller -> worker: answer to hello",
);

export const heartbeat = message("heartbeat", {}, "both ways: liveness");

export const initRequest = message(
  "initRequest",
  { seed: nonNegInt.max(0xffffffff) },
  "controller -> worker: build the initial model from the seed and upload it",
);

export const task = message(
  "task",
  {
    taskId: z.string().min(1).max(128),
    kind: z.enum(["train", "evaluate"]),
    epoch: nonNegInt,
    sample: nonNegInt,
    theta: z.array(z.number()).min(4).describe("the loss to train: the sample mapped by the run's search.space"),
    M: z.number().int().min(1),
    tScaleGrad: z
      .enum(["plain", "full"])
      .optional()
      .describe("the loss option t_scale_grad: how a tensor scale gets its gradient through t (docs/algorithm.md); absent: plain"),
    tauForm: z
      .enum(["linear", "power"])
      .optional()
      .describe("the loss option tau_form: tau linear in p (Eq. 16) or a power of p per interval (search.space power); absent: linear"),
    start: sha256.describe("sha256 of the checkpoint to start from"),
    seed: nonNegInt.max(0xffffffff).describe("seeds data order and dropout for this task"),
    split: z.enum(["val", "test"]).describe("split the reward or metrics are measured on"),
  },
  "controller -> worker: train one epoch (or evaluate) from a checkpoint",
);

export const progress = message(
  "progress",
  {
    taskId: z.string().min(1).max(128),
    step: nonNegInt,
    steps: nonNegInt,
    loss: finiteOrNull,
    samplesPerSec: finiteOrNull,
  },
  "worker -> controller: training progress",
);

export const result = message(
  "result",
  {
    taskId: z.string().min(1).max(128),
    ok: z.boolean(),
    reward: finiteOrNull.describe("validation reward; null when the task failed or the reward is NaN"),
    trainLoss: finiteOrNull,
    metrics: z.record(z.string(), z.number().nullable()),
    timingsMs: z.record(z.string(), z.number().min(0)),
    reason: z.string().max(4096).optional().describe("why the task failed"),
    lossStats: lossStats
      .nullable()
      .optional()
      .describe("how the searched loss acted on the examples of a train task; absent or null when not measured"),
  },
  "worker -> controller: the outcome of a task",
);

export const keep = message(
  "keep",
  { taskId: z.string().min(1).max(128), keep: z.boolean() },
  "controller -> worker: whether the trained state of a task may still win the epoch",
);

export const checkpointRequest = message(
  "checkpointRequest",
  {
    sha256: sha256.optional().describe("the stored state wanted"),
    taskId: z.string().min(1).max(128).optional().describe("upload the trained state of this task"),
  },
  "either way: ask for a checkpoint, by sha256 or by the task that produced it",
);

const transferId = z.string().min(1).max(128).describe("names the transfer; unique per sender (its announcing msgId)");

export const checkpoint = message(
  "checkpoint",
  {
    sha256,
    sizeBytes: z.number().int().min(1).describe("bytes of the whole safetensors file"),
    chunkBytes: z.number().int().min(1).max(MAX_CHUNK_BYTES).describe("bytes of every chunk but the last"),
    transferId,
    taskId: z.string().min(1).max(128).optional(),
  },
  "either way: announces a safetensors checkpoint, sent as checkpointChunk messages as the receiver grants credit",
);

export const checkpointChunk = message(
  "checkpointChunk",
  {
    transferId,
    index: nonNegInt.describe("0-based chunk number; chunks come in order"),
    offset: nonNegInt.describe("byte offset of the chunk in the file: index * chunkBytes"),
  },
  "either way: one chunk of an announced checkpoint, in the single payload frame",
);

export const credit = message(
  "credit",
  { transferId, chunks: z.number().int().min(1).max(MAX_CREDIT_CHUNKS).describe("more chunks the sender may send") },
  "either way: the receiver of a checkpoint lets the sender send more chunks",
);

export const checkpointAbort = message(
  "checkpointAbort",
  { transferId, reason: z.string().max(4096) },
  "either way: a checkpoint transfer is abandoned (by its sender or its receiver), and why",
);

export const reject = message(
  "reject",
  { reason: z.string().max(4096), rejectedMsgId: z.string().max(128).nullable() },
  "either way: the message named was rejected, and why",
);

export const shutdown = message("shutdown", { reason: z.string().max(4096) }, "controller -> worker: exit now");

export const fatal = message(
  "fatal",
  {
    kind: z.enum(["config"]).describe("config: the experiment cannot run with this config or its data"),
    reason: z.string().min(1).max(4096).describe("what is wrong, naming the input (a file, a field)"),
  },
  "worker -> controller: the worker cannot run this experiment; the run stops without retrying on other workers",
);

export const wireMessage = z.discriminatedUnion("type", [
  hello,
  welcome,
  heartbeat,
  initRequest,
  task,
  progress,
  result,
  keep,
  checkpointRequest,
  checkpoint,
  checkpointChunk,
  credit,
  checkpointAbort,
  reject,
  shutdown,
  fatal,
]);

export type WireMessage = z.infer<typeof wireMessage>;
export type MessageType = WireMessage["type"];
export type MessageOf<T extends MessageType> = Extract<WireMessage, { type: T }>;
/** Messages that carry exactly one binary payload frame. */
export const PAYLOAD_TYPES: ReadonlySet<MessageType> = new Set(["checkpointChunk"]);
