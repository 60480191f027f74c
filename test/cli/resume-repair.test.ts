/**
 * `amlfs resume --repair` and `--from-epoch N` from the command line: bad values are
 * usage errors (exit 2) that change nothing; a torn journal and a corrupt checkpoint fail
 * plain `resume` with the command that fixes them, and that command, run as a real process
 * with fake worker processes, continues to the result of an undisturbed run.
 */
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { checkFinishedRun } from "../helpers/check-journal.js";
import { scaled } from "../helpers/load.js";
import { tinyConfig } from "../orchestrate/config.js";
import { runFake } from "../orchestrate/run-fake.js";
import { amlfs } from "./cli-process.js";

const config = tinyConfig({ name: "resume-repair", epochs: 3 });
const workers = [{ id: "w0" }, { id: "w1" }];
const journalOf = (dir: string) => readFileSync(join(dir, "journal.jsonl"));
const linesOf = (dir: string) => journalOf(dir).toString("utf8").split("\n").filter((line) => line !== "");
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Per epoch what the search decided, and the final model: what damage and its repair must not change. */
function resultOf(dir: string): unknown {
  const records = linesOf(dir).map((line) => JSON.parse(line) as Record<string, unknown>);
  const epochs = records.filter((r) => r.kind === "epoch").map(({ epoch, thetas, rewards, best, mu, adam, sha256: sha }) => ({ epoch, thetas, rewards, best, mu, adam, sha }));
  const final = records.find((r) => r.kind === "final");
  return { epochs, final: final?.metrics, model: sha256(readFileSync(join(dir, "final", "model.safetensors"))) };
}

let reference = "";

beforeAll(async () => {
  const run = await runFake(config, workers);
  expect(run.error).toBeNull();
  reference = run.dir;
});

/** A run stopped right after epoch 1 ended (journal: init, epoch 0, epoch 1; start w_0002). */
async function stoppedRun(): Promise<string> {
  const run = await runFake(config, workers, { abortWhen: (event) => event.type === "epoch-end" && event.epoch === 1 });
  expect(linesOf(run.dir)).toHaveLength(3);
  return run.dir;
}

async function inProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

describe("amlfs resume --repair / --from-epoch: usage", () => {
  it("refuses bad values and wrong combinations with exit 2, changing nothing", async () => {
    const dir = await stoppedRun();
    const before = journalOf(dir);
    const entries = readdirSync(dir).sort();
    for (const [args, message] of [
      [["--from-epoch=-1"], `--from-epoch: expected an epoch, an integer >= 0, got "-1"`],
      [["--from-epoch", "1.5"], `--from-epoch: expected an epoch, an integer >= 0, got "1.5"`],
      [["--from-epoch", "two"], `--from-epoch: expected an epoch, an integer >= 0, got "two"`],
      [["--from-epoch", ""], `--from-epoch: expected an epoch, an integer >= 0, got ""`],
      [["--repair", "--from-epoch", "1"], "expected --repair or --from-epoch, not both"],
      [["--repair=yes"], "--repair"],
      [["--from-epoch", "3"], "records 2 epoch(s), so a run continues from epoch 2 at the latest; expected 0 to 2, got 3"],
    ] as const) {
      const result = await inProcess(["resume", dir, ...args]);
      expect(result.code, `${args.join(" ")}: ${result.err}`).toBe(2);
      expect(result.err, args.join(" ")).toContain(message);
    }
    const search = await inProcess(["search", "config.json", "--repair"]);
    expect(search.code).toBe(2);
    expect(search.err).toContain("Unknown option '--repair'");
    expect(journalOf(dir).equals(before)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(entries);
  });

  it("documents both flags in resume --help", async () => {
    const help = await inProcess(["resume", "--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--repair .*cut short/s);
    expect(help.out).toMatch(/--from-epoch N .*last checkpoint at or before epoch N whose sha256\s+verifies/s);
  });
});

describe("amlfs resume after damage, as processes", () => {
  it("a torn last line: resume names --repair (exit 1); resume --repair drops it, keeps it aside, and ends like an undisturbed run", async () => {
    const dir = await stoppedRun();
    const whole = journalOf(dir);
    const torn = Buffer.from('{"kind":"epoch","epoch":2,"seed":12');
    appendFileSync(join(dir, "journal.jsonl"), torn);

    const plain = await amlfs(["resume", dir]);
    expect(plain.exitCode, plain.all).toBe(1);
    expect(plain.stderr).toContain("journal.jsonl:4: expected a JSON record");
    expect(plain.stderr).toContain(`amlfs resume --repair ${dir}`);

    const repaired = await amlfs(["resume", "--repair", dir]);
    expect(repaired.exitCode, repaired.all).toBe(0);
    expect(repaired.stdout).toContain("--repair: dropped the incomplete last line 4");
    const side = readdirSync(dir).filter((name) => /^journal\.dropped-.+\.jsonl$/.test(name));
    expect(side).toHaveLength(1);
    expect(readFileSync(join(dir, side[0] as string)).equals(torn)).toBe(true);
    expect(journalOf(dir).subarray(0, whole.length).equals(whole)).toBe(true);
    checkFinishedRun(dir);
    expect(resultOf(dir)).toEqual(resultOf(reference));
  }, scaled(60_000));

  it("a corrupt checkpoint: resume names --from-epoch 1 (exit 1); resume --from-epoch 1 continues from w_0001 and ends like an undisturbed run", async () => {
    const dir = await stoppedRun();
    const file = join(dir, "checkpoints", "w_0002.safetensors");
    const bytes = readFileSync(file);
    bytes.writeUInt8((bytes.at(-1) as number) ^ 0x80, bytes.length - 1);
    writeFileSync(file, bytes);

    const plain = await amlfs(["resume", dir]);
    expect(plain.exitCode, plain.all).toBe(1);
    expect(plain.stderr).toContain("w_0002.safetensors: sha256 is");
    expect(plain.stderr).toContain(`go back to it with \`amlfs resume --from-epoch 1 ${dir}\``);

    const back = await amlfs(["resume", "--from-epoch", "1", dir, "--json"]);
    expect(back.exitCode, back.all).toBe(0);
    expect(back.stderr).toContain("--from-epoch 1: continues from epoch 1, checkpoints/w_0001.safetensors (sha256 verified)");
    // --json: stdout stays one event per line.
    for (const line of back.stdout.trim().split("\n")) expect(() => JSON.parse(line), line).not.toThrow();
    const aside = readdirSync(dir).filter((name) => name.startsWith("rolled-back-"));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0] as string, "checkpoints", "w_0002.safetensors")).equals(bytes)).toBe(true);
    checkFinishedRun(dir);
    expect(resultOf(dir)).toEqual(resultOf(reference));
  }, scaled(60_000));
});
