/**
 * The journal of a run, `journal.jsonl` (docs/design.md, The run directory; docs/journal.md):
 * one JSON record per line,
 *
 *   {"kind":"init", checkpoint, sha256, ...}     the initial state w_0
 *   {"kind":"epoch", epoch, thetas, rewards, ...} one per finished epoch, in order
 *   {"kind":"final", metrics, checkpoint, ...}    the test evaluation of the final model
 *
 * The whole file is rewritten (temp file + rename) for each record, so it is always a
 * complete prefix of the run, and the checkpoint a record names is written before it.
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
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

  /**
   * Reads and checks the journal; a missing file is an empty journal. Damage is an error
   * naming the line and the way out (docs/journal.md, "Damage and the way back"): `--repair` for a last line
   * cut short, `--from-epoch` for anything else.
   */
  static async read(path: string): Promise<Journal> {
    const scan = scanJournal(await readJournalBytes(path));
    if (scan.damage !== null) throw journalDamageError(scan, path);
    return new Journal(path, scan.records);
  }

  /** Appends a record: the whole file is rewritten atomically. */
  async append(record: JournalRecord): Promise<void> {
    const checked = journalRecord.parse(record);
    const problem = orderProblem(this.#records, checked);
    if (problem !== null) throw new RunError(`${this.path}:${this.#records.length + 1}: ${problem}`, { resumable: false });
    const next = [...this.#records, checked];
    await writeFileAtomic(this.path, next.map((entry) => `${JSON.stringify(entry)}\n`).join(""));
    this.#records.push(record);
  }
}

/** The bytes of the journal; a missing file is an empty one. */
export async function readJournalBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw new RunError(`cannot read ${path}: ${(error as Error).message}`, { resumable: false, cause: error });
  }
}

/** The first line of a journal that cannot be read, and why. */
export interface JournalDamage {
  /** 1-based line number in the file. */
  line: number;
  /** Byte offset where that line starts: everything before it is the readable prefix. */
  offset: number;
  /**
   * The last line, cut short: not JSON and no newline at the end of the file. Our own
   * writes replace the whole file atomically, so only something outside amlfs does this.
   */
  torn: boolean;
  problem: string;
}

export interface JournalScan {
  /** The records before the first damaged line (all of them when there is none). */
  records: JournalRecord[];
  /** Per record, the byte offset just past its line (its newline included, when it has one). */
  ends: number[];
  /** Per record, its 1-based line number. */
  lines: number[];
  damage: JournalDamage | null;
}

/**
 * Reads the journal's lines up to the first that is not a record in its place: not JSON,
 * not a valid record, or out of order. Blank lines are skipped.
 */
export function scanJournal(bytes: Buffer): JournalScan {
  const records: JournalRecord[] = [];
  const ends: number[] = [];
  const lines: number[] = [];
  let offset = 0;
  for (let line = 1; offset < bytes.length; line++) {
    const newline = bytes.indexOf(0x0a, offset);
    const end = newline < 0 ? bytes.length : newline + 1;
    const text = bytes.subarray(offset, newline < 0 ? bytes.length : newline).toString("utf8");
    if (text.trim() !== "") {
      const parsed = parseLine(text);
      const problem = "problem" in parsed ? parsed.problem : orderProblem(records, parsed.record);
      if (problem !== null) {
        const torn = newline < 0 && "problem" in parsed && parsed.json === false;
        return { records, ends, lines, damage: { line, offset, torn, problem } };
      }
      records.push((parsed as { record: JournalRecord }).record);
      ends.push(end);
      lines.push(line);
    }
    offset = end;
  }
  return { records, ends, lines, damage: null };
}

/** The error for a damaged journal: where, what, and the command that gets the run going again. */
export function journalDamageError(scan: JournalScan, path: string): RunError {
  const { line, problem, torn } = scan.damage as JournalDamage;
  const dir = dirname(path);
  const where = `${path}:${line}: ${problem}`;
  if (torn) {
    return new RunError(
      `${where}; the last line is incomplete (cut short outside amlfs, whose writes are atomic): ` +
        `\`amlfs resume --repair ${dir}\` drops it, keeping its bytes in ${dir}/journal.dropped-<time>.jsonl`,
      { resumable: false },
    );
  }
  if (scan.records.length === 0) {
    return new RunError(`${where}; nothing before it to go back to: restore ${path} from a copy, or start the run again`, {
      resumable: false,
    });
  }
  const next = scan.records.filter((record) => record.kind === "epoch").length;
  return new RunError(
    `${where}; --repair mends only a last line cut short: go back with \`amlfs resume --from-epoch ${next} ${dir}\` ` +
      `(it continues from the last checkpoint at or before epoch ${next} that verifies; ` +
      `line ${line} and the lines after it are kept in a side file), or restore ${path} from a copy`,
    { resumable: false },
  );
}

type ParsedLine = { record: JournalRecord } | { problem: string; json: boolean };

function parseLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { problem: `expected a JSON record, got ${(error as Error).message}`, json: false };
  }
  const parsed = journalRecord.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined ? "record" : issue.path.join(".") || "kind";
    return { problem: `field \`${field}\`: ${issue?.message ?? "invalid record"}`, json: true };
  }
  return { record: parsed.data };
}

/** Why `record` cannot follow `before`: init first, then epochs 0, 1, 2, ... in order, then at most one final record, last. */
function orderProblem(before: readonly JournalRecord[], record: JournalRecord): string | null {
  const index = before.length;
  if ((index === 0) !== (record.kind === "init")) return `expected the init record first and only there, got a ${record.kind} record`;
  if (before.at(-1)?.kind === "final") return `expected nothing after the final record, got a ${record.kind} record`;
  if (record.kind === "epoch" && record.epoch !== index - 1) return `expected epoch ${index - 1}, got epoch ${record.epoch}`;
  return null;
}
