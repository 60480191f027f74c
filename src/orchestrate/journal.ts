/**
 * The journal of a run, `journal.jsonl` (DESIGN.md section 5): one JSON record per line,
 *
 *   {"kind":"init", checkpoint, sha256, ...}     the initial state w_0
 *   {"kind":"epoch", epoch, thetas, rewards, ...} one per finished epoch, in order
 *   {"kind":"final", metrics, checkpoint, ...}    the test evaluation of the final model
 *
 * The whole file is rewritten (temp file + rename) for each record, so it is always a
 * complete prefix of the run, and the checkpoint a record names is written before it.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { lossStats } from "../schema/wire/loss-stats.js";
import { writeFileAtomic } from "./atomic.js";
import { RunError } from "./errors.js";

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const vector = z.array(z.number());
const timings = z.record(z.string(), z.number());

const checkpointFields = { checkpoint: z.string(), sha256, sizeBytes: z.number().int().min(0) };

export const initRecord = z.object({
  kind: z.literal("init"),
  ...checkpointFields,
  seed: z.number().int(),
  workerId: z.string(),
  time: z.string(),
});

export const failureRecord = z.object({
  sample: z.number().int().min(0),
  taskId: z.string(),
  workerId: z.string(),
  reason: z.string(),
  /** Whether the task was queued again after this failure (a lost worker). */
  requeued: z.boolean(),
});

export const epochRecord = z.object({
  kind: z.literal("epoch"),
  epoch: z.number().int().min(0),
  seed: z.number().int().min(0),
  /** The samples theta_k ~ N(mu, sigmaStd^2 I) (held coordinates at mu), as REINFORCE uses them. */
  thetas: z.array(vector),
  /** What each sample trained: its theta mapped by search.space (absent in journals of earlier versions). */
  lossThetas: z.array(vector).optional(),
  rewards: z.array(z.number().nullable()),
  failures: z.array(failureRecord),
  normalized: z.array(z.number().nullable()),
  best: z.number().int().min(0),
  bestReward: z.number(),
  muBefore: vector,
  mu: vector,
  adam: z.object({ step: z.number().int().min(0), m: vector, v: vector }),
  applied: z.boolean(),
  validity: z.array(
    z.object({
      tauMin: z.number(),
      tauFlooredFraction: z.number(),
      negativeSlopesT: z.number().int(),
      negativeSlopesTau: z.number().int(),
    }),
  ),
  /**
   * Per sample, how its loss acted on the examples it trained on (the `lossStats` of its
   * result: shares floored and dead, mean gradient factors); null when its worker measured
   * nothing (a failed sample, a fixed head). Absent in journals of earlier versions.
   */
  lossStats: z.array(lossStats.nullable()).optional(),
  /** The task whose trained state became w_{epoch+1}, and the worker that uploaded it. */
  winner: z.object({ taskId: z.string(), workerId: z.string() }),
  ...checkpointFields,
  timingsMs: z.object({
    epoch: z.number(),
    upload: z.number(),
    tasks: z.array(timings.nullable()),
  }),
  time: z.string(),
});

export const finalRecord = z.object({
  kind: z.literal("final"),
  metrics: z.record(z.string(), z.number().nullable()),
  reward: z.number().nullable(),
  split: z.literal("test"),
  ...checkpointFields,
  model: z.string(),
  taskId: z.string(),
  workerId: z.string(),
  time: z.string(),
});

export const journalRecord = z.discriminatedUnion("kind", [initRecord, epochRecord, finalRecord]);

export type InitRecord = z.infer<typeof initRecord>;
export type EpochRecord = z.infer<typeof epochRecord>;
export type FinalRecord = z.infer<typeof finalRecord>;
export type FailureRecord = z.infer<typeof failureRecord>;
export type JournalRecord = z.infer<typeof journalRecord>;

export class Journal {
  readonly path: string;
  readonly #records: JournalRecord[];

  private constructor(path: string, records: JournalRecord[]) {
    this.path = path;
    this.#records = records;
  }

  get records(): readonly JournalRecord[] {
    return this.#records;
  }

  /** Reads and checks the journal; a missing file is an empty journal. */
  static async read(path: string): Promise<Journal> {
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new RunError(`cannot read ${path}: ${(error as Error).message}`, { resumable: false, cause: error });
      }
    }
    const records = text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line, index) => parseLine(line, `${path}:${index + 1}`));
    checkOrder(records, path);
    return new Journal(path, records);
  }

  /** Appends a record: the whole file is rewritten atomically. */
  async append(record: JournalRecord): Promise<void> {
    const next = [...this.#records, journalRecord.parse(record)];
    checkOrder(next, this.path);
    await writeFileAtomic(this.path, next.map((entry) => `${JSON.stringify(entry)}\n`).join(""));
    this.#records.push(record);
  }
}

function parseLine(line: string, where: string): JournalRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new RunError(`${where}: expected a JSON record, got ${(error as Error).message}`, { resumable: false, cause: error });
  }
  const parsed = journalRecord.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined ? "record" : issue.path.join(".") || "kind";
    throw new RunError(`${where}: field \`${field}\`: ${issue?.message ?? "invalid record"}`, {
      resumable: false,
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** init first, then epochs 0, 1, 2, ... in order, then at most one final record, last. */
function checkOrder(records: readonly JournalRecord[], path: string): void {
  records.forEach((record, index) => {
    const where = `${path}:${index + 1}`;
    if ((index === 0) !== (record.kind === "init")) {
      throw new RunError(`${where}: expected the init record first and only there, got a ${record.kind} record`, {
        resumable: false,
      });
    }
    if (record.kind === "epoch" && record.epoch !== index - 1) {
      throw new RunError(`${where}: expected epoch ${index - 1}, got epoch ${record.epoch}`, { resumable: false });
    }
    if (record.kind === "final" && index !== records.length - 1) {
      throw new RunError(`${where}: the final record must be the last one`, { resumable: false });
    }
  });
}
