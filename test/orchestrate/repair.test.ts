/**
 * The way back from a damaged run (docs/journal.md, "Damage and the way back"), against
 * fake workers in this process: a journal whose last line was cut short, a line damaged
 * before the end, a checkpoint whose bytes changed. Each error names its fix; --repair
 * drops only a torn last line; --from-epoch goes back to the last checkpoint that verifies;
 * what is set aside is kept byte for byte; the continued run ends exactly like an
 * undisturbed one.
 */
import { createHash } from "node:crypto";
import { appendFileSync, cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RunError } from "../../src/orchestrate/errors.js";
import { Journal, scanJournal } from "../../src/orchestrate/journal.js";
import { repairRun } from "../../src/orchestrate/repair.js";
import { RunDir } from "../../src/orchestrate/run-dir.js";
import { checkFinishedRun } from "../helpers/check-journal.js";
import { tinyConfig } from "./config.js";
import { newRunDir, runFake } from "./run-fake.js";

const config = tinyConfig({ name: "repair", epochs: 3 });
const workers = [{ id: "w0" }, { id: "w1" }];
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const journalOf = (dir: string) => readFileSync(join(dir, "journal.jsonl"));
const linesOf = (dir: string) => journalOf(dir).toString("utf8").split("\n").filter((line) => line !== "");

let reference = "";

/** What must not depend on the damage: every record but times, timings and failures; the final model. */
function resultOf(dir: string): unknown {
  const records = linesOf(dir).map((line) => {
    const { time: _time, timingsMs: _timings, failures: _failures, winner: _winner, workerId: _worker, taskId: _task, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return rest;
  });
  return { records, model: sha256(readFileSync(join(dir, "final", "model.safetensors"))) };
}

/** A run stopped right after epoch 1 ended: the journal holds init, epoch 0 and epoch 1; w_0002 is its start. */
async function stoppedAfterEpoch1(): Promise<string> {
  const run = await runFake(config, workers, { abortWhen: (event) => event.type === "epoch-end" && event.epoch === 1 });
  expect(run.error?.message).toMatch(/interrupted/);
  expect(linesOf(run.dir).map((line) => (JSON.parse(line) as { kind: string; epoch?: number }).epoch ?? "init")).toEqual(["init", 0, 1]);
  return run.dir;
}

async function resume(dir: string) {
  return runFake(null, workers, { dir });
}

function sideEntries(dir: string, prefix: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith(prefix));
}

beforeAll(async () => {
  const run = await runFake(config, workers);
  expect(run.error).toBeNull();
  reference = run.dir;
});

describe("scanJournal", () => {
  const init = '{"kind":"init","checkpoint":"checkpoints/w_0000.safetensors","sha256":"' + "a".repeat(64) + '","sizeBytes":1,"seed":1,"workerId":"w0","time":"t"}';

  it("calls a line torn only when it is the last, has no newline and is not JSON", () => {
    expect(scanJournal(Buffer.from(`${init}\n{"kind":"ep`)).damage).toMatchObject({ line: 2, torn: true, offset: init.length + 1 });
    // A complete line (with its newline) that is not JSON was written whole: not torn.
    expect(scanJournal(Buffer.from(`${init}\n{"kind":"ep\n`)).damage).toMatchObject({ line: 2, torn: false });
    // JSON that is not a record, at the end without a newline: not torn either.
    expect(scanJournal(Buffer.from(`${init}\n{"kind":"epoch"}`)).damage).toMatchObject({ line: 2, torn: false });
    // A last record whose newline alone is missing is whole.
    expect(scanJournal(Buffer.from(init)).damage).toBeNull();
    expect(scanJournal(Buffer.from(`\n${init}\n\n`))).toMatchObject({ damage: null, lines: [2] });
  });
});

describe("a journal whose last line was cut short", () => {
  it("is refused with the --repair fix; --repair drops exactly that line, keeps its bytes, and the run ends like an undisturbed one", async () => {
    const dir = await stoppedAfterEpoch1();
    const whole = journalOf(dir);
    // Outside damage: half of a real record, no newline (what a copy cut short leaves).
    const torn = Buffer.from(linesOf(reference)[3] as string).subarray(0, 200);
    appendFileSync(join(dir, "journal.jsonl"), torn);

    const refused = await resume(dir);
    expect(refused.error).toBeInstanceOf(RunError);
    expect(refused.error?.message).toContain(`journal.jsonl:4: expected a JSON record`);
    expect(refused.error?.message).toContain(`\`amlfs resume --repair ${dir}\` drops it`);
    expect(refused.workers).toHaveLength(0);
    expect(journalOf(dir).equals(Buffer.concat([whole, torn]))).toBe(true);

    const { dir: runDir } = await RunDir.open(dir);
    const done = await repairRun(runDir, { kind: "tail" });
    expect(done).toMatch(/dropped the incomplete last line 4 .* \(200 bytes\), kept in .*journal\.dropped-.*\.jsonl$/);
    const [side] = sideEntries(dir, "journal.dropped-");
    expect(readFileSync(join(dir, side as string)).equals(torn)).toBe(true);
    expect(journalOf(dir).equals(whole)).toBe(true);
    expect(readFileSync(join(dir, "logs", "controller.log"), "utf8")).toContain("--repair: dropped the incomplete last line 4");

    const resumed = await resume(dir);
    expect(resumed.error).toBeNull();
    checkFinishedRun(dir);
    expect(resultOf(dir)).toEqual(resultOf(reference));
    expect(journalOf(dir).subarray(0, whole.length).equals(whole)).toBe(true);
  });

  it("--repair mends nothing else: a bad line before the end is refused, naming the line and --from-epoch, and nothing changes", async () => {
    const dir = await stoppedAfterEpoch1();
    const lines = linesOf(dir);
    lines[2] = (lines[2] as string).replace('"epoch":1', '"epoch":"one"');
    writeFileSync(join(dir, "journal.jsonl"), `${lines.join("\n")}\n`);
    const before = journalOf(dir);

    await expect(Journal.read(join(dir, "journal.jsonl"))).rejects.toThrow(
      /journal\.jsonl:3: field `epoch`: .*--repair mends only a last line cut short: go back with `amlfs resume --from-epoch 1 /,
    );
    const { dir: runDir } = await RunDir.open(dir);
    await expect(repairRun(runDir, { kind: "tail" })).rejects.toThrow(/journal\.jsonl:3: .*--from-epoch 1/);
    expect(journalOf(dir).equals(before)).toBe(true);
    expect(sideEntries(dir, "journal.dropped-")).toEqual([]);

    // The way the message names: back to w_0001, the damaged line set aside.
    const done = await repairRun(runDir, { kind: "from-epoch", epoch: 1 });
    expect(done).toMatch(/^--from-epoch 1: continues from epoch 1, checkpoints\/w_0001\.safetensors \(sha256 verified\); set aside in rolled-back-[^/]+\/: journal\.jsonl from line 3 on \(the damaged line 3 and what follows it\)/);
    const [side] = sideEntries(dir, "rolled-back-");
    expect(readFileSync(join(dir, side as string, "journal.discarded.jsonl"), "utf8")).toBe(`${lines[2]}\n`);
    const resumed = await resume(dir);
    expect(resumed.error).toBeNull();
    checkFinishedRun(dir);
    expect(resultOf(dir)).toEqual(resultOf(reference));
  });
});

describe("a corrupt checkpoint", () => {
  it("is refused before any worker starts, naming the epoch to go back to; --from-epoch goes back to the last one that verifies", async () => {
    const dir = await stoppedAfterEpoch1();
    const whole = linesOf(dir);
    const start = join(dir, "checkpoints", "w_0002.safetensors");
    const corrupted = readFileSync(start);
    corrupted.writeUInt8((corrupted.at(-1) as number) ^ 1, corrupted.length - 1);
    writeFileSync(start, corrupted);

    const refused = await resume(dir);
    expect(refused.error?.message).toMatch(
      new RegExp(`w_0002\\.safetensors: sha256 is [0-9a-f]{64}, expected [0-9a-f]{64} .*the last one that verifies is checkpoints/w_0001\\.safetensors: go back to it with \`amlfs resume --from-epoch 1 ${dir}\``),
    );
    expect(refused.workers).toHaveLength(0);

    // At or before epoch 2: w_0002 does not verify, so epoch 1 it is, and the message says so.
    const { dir: runDir } = await RunDir.open(dir);
    const done = await repairRun(runDir, { kind: "from-epoch", epoch: 2 });
    expect(done).toMatch(/^--from-epoch 2: continues from epoch 1, checkpoints\/w_0001\.safetensors \(sha256 verified\) \(skipped: .*w_0002\.safetensors: sha256 is/);
    expect(done).toMatch(/journal\.jsonl from line 3 on \(epoch 1\) as journal\.discarded\.jsonl, checkpoints\/w_0002\.safetensors$/);
    expect(linesOf(dir)).toEqual(whole.slice(0, 2));
    const [side] = sideEntries(dir, "rolled-back-");
    const aside = join(dir, side as string);
    expect(readFileSync(join(aside, "journal.discarded.jsonl"), "utf8")).toBe(`${whole[2]}\n`);
    expect(readFileSync(join(aside, "checkpoints", "w_0002.safetensors")).equals(corrupted)).toBe(true);
    expect(existsSync(start)).toBe(false);
    expect(JSON.parse(readFileSync(join(aside, "rollback.json"), "utf8"))).toMatchObject({
      requestedEpoch: 2,
      continuesFromEpoch: 1,
      checkpoint: "checkpoints/w_0001.safetensors",
      discardedFromLine: 3,
      discardedRecords: ["epoch 1"],
      damagedLine: null,
    });

    const resumed = await resume(dir);
    expect(resumed.error).toBeNull();
    expect(resumed.events.find((event) => event.type === "run-start")).toMatchObject({ nextEpoch: 1, resumed: true });
    checkFinishedRun(dir);
    expect(resultOf(dir)).toEqual(resultOf(reference));
  });

  it("--from-epoch on a finished run sets its later epochs and final model aside and ends the same again", async () => {
    const dir = newRunDir();
    cpSync(reference, dir, { recursive: true });
    const { dir: runDir } = await RunDir.open(dir);
    const done = await repairRun(runDir, { kind: "from-epoch", epoch: 2 });
    expect(done).toMatch(/continues from epoch 2, checkpoints\/w_0002\.safetensors \(sha256 verified\); .*\(epoch 2 to final\).*checkpoints\/w_0003\.safetensors, final\/metrics\.json, final\/model\.safetensors$/);
    expect(readdirSync(join(dir, "final"))).toEqual([]);
    expect(linesOf(dir)).toEqual(linesOf(reference).slice(0, 3));
    const resumed = await resume(dir);
    expect(resumed.error).toBeNull();
    expect(resumed.outcome?.status).toBe("finished");
    checkFinishedRun(dir);
    expect(resultOf(dir)).toEqual(resultOf(reference));
  });
});

describe("what --from-epoch refuses, before anything changes", () => {
  it("an epoch past the journal's, no checkpoint that verifies, a run another process holds", async () => {
    const dir = await stoppedAfterEpoch1();
    const before = journalOf(dir);
    const { dir: runDir } = await RunDir.open(dir);
    await expect(repairRun(runDir, { kind: "from-epoch", epoch: 3 })).rejects.toThrow(
      /--from-epoch: .*journal\.jsonl records 2 epoch\(s\), so a run continues from epoch 2 at the latest; expected 0 to 2, got 3/,
    );
    // w_0000 gone (as retention removes it in longer runs) and w_0001 no longer verifying: nothing to go back to.
    const w0 = join(dir, "checkpoints", "w_0000.safetensors");
    const first = readFileSync(w0);
    rmSync(w0);
    const w1 = join(dir, "checkpoints", "w_0001.safetensors");
    const bytes = readFileSync(w1);
    writeFileSync(w1, Buffer.concat([bytes, Buffer.from([0])]));
    await expect(repairRun(runDir, { kind: "from-epoch", epoch: 1 })).rejects.toThrow(
      /no checkpoint at or before epoch 1 verifies \(.*w_0001\.safetensors: sha256 is .*; 1 checkpoint\(s\) missing/,
    );
    writeFileSync(w1, bytes);
    writeFileSync(w0, first);
    writeFileSync(join(dir, ".lock"), `${process.ppid}\n`); // a live process holds the run
    await expect(repairRun(runDir, { kind: "from-epoch", epoch: 1 })).rejects.toThrow(`in use by another amlfs process (pid ${process.ppid})`);
    expect(journalOf(dir).equals(before)).toBe(true);
    expect(sideEntries(dir, "rolled-back-")).toEqual([]);
  });
});
