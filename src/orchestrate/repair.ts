/**
 * Getting a damaged run going again (docs/journal.md, "Damage and the way back"), each
 * under the run directory's lock and before the run continues:
 *
 *   --repair         drops a journal's last line cut short (the only damage repaired without being asked
 *                    where to go back to); its bytes go to journal.dropped-<time>.jsonl
 *   --from-epoch N   goes back to the last checkpoint at or before epoch N whose sha256 verifies;
 *                    the records after it, the later checkpoints and final/ go to rolled-back-<time>/
 *
 * Nothing is deleted: what is set aside stays in the run directory, and logs/controller.log
 * says what was done. The journal kept is a byte-for-byte prefix of the old one, so the
 * continued run is a run like any other (report, compare, a later resume).
 */
import { appendFile, mkdir, readdir, rename, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { writeFileAtomic } from "./atomic.js";
import { RunError } from "./errors.js";
import { type EpochRecord, type InitRecord, type JournalRecord, journalDamageError, readJournalBytes, scanJournal } from "./journal.js";
import type { ResumePoint } from "./resume-point.js";
import { type RunDir, checkpointName } from "./run-dir.js";

export type RepairRequest = { kind: "tail" } | { kind: "from-epoch"; epoch: number };

/** Applies `request` to the run in `dir` under its lock; returns what was done, in one line. */
export async function repairRun(dir: RunDir, request: RepairRequest): Promise<string> {
  const unlock = await dir.lock();
  try {
    const done = request.kind === "tail" ? await dropTornTail(dir) : await rollBack(dir, request.epoch);
    await appendFile(join(dir.logsDir, "controller.log"), `${new Date().toISOString()} ${done}\n`);
    return done;
  } finally {
    await unlock();
  }
}

/**
 * The start of a run to be continued must verify before any worker starts: returns its bytes
 * (read and checked once; the controller starts from them), or null when there is none to
 * read (a new run, a finished one). When it does not verify, the error says which earlier
 * epoch to go back to.
 */
export async function checkStart(dir: RunDir, point: ResumePoint): Promise<Buffer | null> {
  if (point.start === null || point.final !== null) return null;
  let failure: RunError;
  try {
    return await dir.loadCheckpoint(point.start);
  } catch (error) {
    if (!(error instanceof RunError)) throw error;
    failure = error;
  }
  // Said as the way back says it of each checkpoint it skips (missing, or the two sha256).
  const problem = (await checkpointProblem(dir, point.start))?.problem ?? failure.message;
  const stored = storedStates(point.init as InitRecord, point.epochs);
  const earlier = await lastVerified(dir, stored, point.nextEpoch - 1);
  const way =
    earlier.epoch === null
      ? `no earlier checkpoint verifies either (${summarize(earlier.skipped)}): start the run again`
      : `the last one that verifies is ${checkpointName(earlier.epoch)}: go back to it with \`amlfs resume --from-epoch ${earlier.epoch} ${dir.path}\``;
  throw new RunError(`${problem}; ${way}`, { resumable: false });
}

async function dropTornTail(dir: RunDir): Promise<string> {
  const bytes = await readJournalBytes(dir.journalPath);
  const scan = scanJournal(bytes);
  if (scan.damage === null) return `--repair: ${dir.journalPath} has no damage; nothing dropped`;
  if (!scan.damage.torn) throw journalDamageError(scan, dir.journalPath);
  const { line, offset } = scan.damage;
  const side = await freeName(dir.path, (stamp) => `journal.dropped-${stamp}.jsonl`);
  await writeFileAtomic(side, bytes.subarray(offset));
  await writeFileAtomic(dir.journalPath, bytes.subarray(0, offset));
  return `--repair: dropped the incomplete last line ${line} of ${dir.journalPath} (${bytes.length - offset} bytes), kept in ${side}`;
}

async function rollBack(dir: RunDir, epoch: number): Promise<string> {
  const bytes = await readJournalBytes(dir.journalPath);
  const scan = scanJournal(bytes);
  const [init, ...rest] = scan.records;
  const epochs = rest.filter((record): record is EpochRecord => record.kind === "epoch");
  const before = scan.damage === null ? "" : ` before its damaged line ${scan.damage.line}`;
  if (init?.kind !== "init") {
    throw new RunError(`--from-epoch ${epoch}: ${dir.journalPath} has no readable init record${before}; nothing to go back to: start the run again`, {
      resumable: false,
    });
  }
  if (epoch > epochs.length) {
    throw new RunError(
      `--from-epoch: ${dir.journalPath} records ${epochs.length} epoch(s)${before}, ` +
        `so a run continues from epoch ${epochs.length} at the latest; expected 0 to ${epochs.length}, got ${epoch}`,
      { resumable: false },
    );
  }
  const found = await lastVerified(dir, storedStates(init, epochs), epoch);
  if (found.epoch === null) {
    throw new RunError(`--from-epoch ${epoch}: no checkpoint at or before epoch ${epoch} verifies (${summarize(found.skipped)}); start the run again`, {
      resumable: false,
    });
  }
  const from = found.epoch;
  const skipped = found.skipped.length === 0 ? "" : ` (skipped: ${summarize(found.skipped)})`;
  const keepEnd = scan.ends[from] as number;
  const discarded = bytes.subarray(keepEnd);
  if (discarded.toString("latin1").trim() === "") {
    return `--from-epoch ${epoch}: continues from epoch ${from}, ${checkpointName(from)} (sha256 verified)${skipped}; nothing to set aside`;
  }
  const sideDir = await freeName(dir.path, (stamp) => `rolled-back-${stamp}`, true);
  await writeFileAtomic(join(sideDir, "journal.discarded.jsonl"), discarded);
  const note = {
    requestedEpoch: epoch,
    continuesFromEpoch: from,
    checkpoint: checkpointName(from),
    skipped: found.skipped.map(({ checkpoint, problem }) => ({ checkpoint, problem })),
    discardedFromLine: (scan.lines[from] as number) + 1,
    discardedRecords: scan.records.slice(from + 1).map(describe),
    damagedLine: scan.damage?.line ?? null,
    time: new Date().toISOString(),
  };
  await writeFileAtomic(join(sideDir, "rollback.json"), `${JSON.stringify(note, null, 2)}\n`);
  // The commit point: from here on the run continues from `from`. What follows only moves
  // files this journal no longer names (a crash in between leaves them where the run would overwrite them).
  await writeFileAtomic(dir.journalPath, ensureNewline(bytes.subarray(0, keepEnd)));
  const moved = await moveAside(dir, sideDir, from);
  const where = relative(dir.path, sideDir);
  return (
    `--from-epoch ${epoch}: continues from epoch ${from}, ${checkpointName(from)} (sha256 verified)${skipped}; ` +
    `set aside in ${where}/: journal.jsonl from line ${note.discardedFromLine} on ` +
    `(${describeAll(note.discardedRecords, note.damagedLine)}) as journal.discarded.jsonl` +
    `${moved.length === 0 ? "" : `, ${moved.join(", ")}`}`
  );
}

/** w_j for j = 0, 1, ...: the checkpoint the init record names, then each epoch's. */
function storedStates(init: InitRecord, epochs: readonly EpochRecord[]): { file: string; sha256: string }[] {
  return [init, ...epochs].map(({ checkpoint, sha256 }) => ({ file: checkpoint, sha256 }));
}

interface Skipped {
  checkpoint: string;
  problem: string;
  /** The file is not there (retention removes all but the last few). */
  missing: boolean;
}

/** The highest j <= `atMost` whose checkpoint reads and verifies, and why each later one did not. */
async function lastVerified(
  dir: RunDir,
  stored: readonly { file: string; sha256: string }[],
  atMost: number,
): Promise<{ epoch: number | null; skipped: Skipped[] }> {
  const skipped: Skipped[] = [];
  for (let j = Math.min(atMost, stored.length - 1); j >= 0; j--) {
    const checkpoint = stored[j] as { file: string; sha256: string };
    const problem = await checkpointProblem(dir, checkpoint);
    if (problem === null) return { epoch: j, skipped };
    skipped.push({ checkpoint: checkpoint.file, ...problem });
  }
  return { epoch: null, skipped };
}

/** Why a checkpoint named by the journal cannot be a start: missing, or its bytes do not verify. */
async function checkpointProblem(dir: RunDir, checkpoint: { file: string; sha256: string }): Promise<Omit<Skipped, "checkpoint"> | null> {
  const path = join(dir.path, checkpoint.file);
  if (!(await exists(path))) return { problem: `${path} is missing`, missing: true };
  try {
    await dir.loadCheckpoint(checkpoint);
    return null;
  } catch (error) {
    if (error instanceof RunError) return { problem: error.message, missing: false };
    throw error;
  }
}

function summarize(skipped: readonly Skipped[]): string {
  if (skipped.length === 0) return "there is none before it";
  const missing = skipped.filter((entry) => entry.missing).length;
  const bad = skipped.filter((entry) => !entry.missing).map((entry) => entry.problem);
  return [...bad, ...(missing === 0 ? [] : [`${missing} checkpoint(s) missing (retention keeps only the last few: keepCheckpoints)`])].join("; ");
}

function describe(record: JournalRecord): string {
  return record.kind === "epoch" ? `epoch ${record.epoch}` : record.kind;
}

function describeAll(records: readonly string[], damagedLine: number | null): string {
  const parts = records.length === 0 ? [] : [records.length === 1 ? (records[0] as string) : `${records[0]} to ${records.at(-1)}`];
  if (damagedLine !== null) parts.push(`the damaged line ${damagedLine} and what follows it`);
  return parts.join(", ");
}

function ensureNewline(bytes: Buffer): Buffer {
  return bytes.length === 0 || bytes[bytes.length - 1] === 0x0a ? bytes : Buffer.concat([bytes, Buffer.from("\n")]);
}

/** Moves the checkpoints after w_from and the final model into the side directory. */
async function moveAside(dir: RunDir, sideDir: string, from: number): Promise<string[]> {
  const moved: string[] = [];
  const later = (await readdir(join(dir.path, "checkpoints"))).filter((name) => {
    const match = /^w_(\d{4,})\.safetensors$/.exec(name);
    return match !== null && Number(match[1]) > from;
  });
  for (const [sub, names] of [
    ["checkpoints", later],
    ["final", await readdir(join(dir.path, "final"))],
  ] as const) {
    if (names.length === 0) continue;
    await mkdir(join(sideDir, sub), { recursive: true });
    for (const name of [...names].sort()) {
      await rename(join(dir.path, sub, name), join(sideDir, sub, name));
      moved.push(`${sub}/${name}`);
    }
  }
  return moved;
}

/** A name in `parent` that does not exist yet, from the time (ISO, file-name safe); a directory is created. */
async function freeName(parent: string, name: (stamp: string) => string, directory = false): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  for (let attempt = 1; ; attempt++) {
    const path = join(parent, name(attempt === 1 ? stamp : `${stamp}-${attempt}`));
    if (directory) {
      const made = await mkdir(path).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === "EEXIST") return false;
          throw new RunError(`cannot create ${path}: ${error.message}`, { resumable: false, cause: error });
        },
      );
      if (made) return path;
    } else if (!(await exists(path))) {
      return path;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
