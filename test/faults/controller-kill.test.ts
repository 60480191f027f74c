/**
 * Fault injection (docs/faults.md, case c): `amlfs search` as a real process (fake worker
 * processes through AMLFS_WORKER_COMMAND) SIGKILLed after a seeded random number of its
 * `--json` events, then `amlfs resume`: the resumed run must end with the final mu, the
 * journal results and the final checkpoint of an uninterrupted run, and the killed
 * process must have left a journal of complete lines only.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { amlfs, writeConfig } from "../cli/cli-process.js";
import { followJsonLines } from "../helpers/json-lines.js";
import { caseTimeoutMs, expectNothingPartial, expectSameResult, newRunDir, report, rng, seeds } from "./faults.js";

const config = writeConfig({ name: "faults-cli", seed: 9, search: { B: 4, epochs: 3, M: 2 } });
const ENV = { FAKE_WORKER: JSON.stringify({ taskMs: 60 }) };

let referenceDir = "";
let referenceEvents = 0;

beforeAll(async () => {
  referenceDir = newRunDir();
  const result = await amlfs(["search", config, "--out", referenceDir, "--json"], ENV);
  expect(result.exitCode, result.all).toBe(0);
  referenceEvents = result.stdout.trim().split("\n").length;
}, caseTimeoutMs(60_000));

const mu = (dir: string) => {
  const lines = readFileSync(join(dir, "journal.jsonl"), "utf8").trim().split("\n");
  const epochs = lines.map((line) => JSON.parse(line) as { kind: string; mu?: number[] }).filter((r) => r.kind === "epoch");
  return epochs.at(-1)?.mu;
};

describe("faults: the controller SIGKILLed, then resumed", () => {
  it.each(seeds(2, 10))("ends like an uninterrupted run (seed %i)", async (seed) => {
    // A kill point anywhere from the first event to just before the last of a reference run.
    const killAfter = 1 + Math.floor(rng(seed)() * (referenceEvents - 2));
    const dir = newRunDir();
    const child = amlfs(["search", config, "--out", dir, "--json"], ENV);
    let seen = 0;
    let lastType = "";
    followJsonLines(child.stdout, (event) => {
      seen += 1;
      if (seen === killAfter) {
        lastType = `${String(event.type)}${event.epoch === undefined ? "" : ` epoch ${String(event.epoch)}`}`;
        child.kill("SIGKILL");
      }
    });
    const killed = await child;
    const where = `seed ${seed}: SIGKILL after event ${killAfter}/${referenceEvents} (${lastType})`;
    expect(killed.signal, where).toBe("SIGKILL");
    // What a SIGKILL leaves: a journal of complete JSON lines (maybe none yet).
    const journal = readFileSync(join(dir, "journal.jsonl"), "utf8");
    expect(journal === "" || journal.endsWith("\n"), where).toBe(true);
    const before = journal.split("\n").filter((line) => line !== "");
    for (const line of before) expect(() => JSON.parse(line), where).not.toThrow();

    const resumed = await amlfs(["resume", dir, "--json"], ENV);
    expect(resumed.exitCode, `${where}: ${resumed.all}`).toBe(0);
    expectSameResult(dir, referenceDir, where);
    expect(mu(dir), where).toEqual(mu(referenceDir));
    expectNothingPartial(dir, where);
    // The journal killed mid-run was kept as it was: resume appended to it.
    const after = readFileSync(join(dir, "journal.jsonl"), "utf8").split("\n");
    expect(after.slice(0, before.length), where).toEqual(before);
    report(
      `SIGKILL amlfs search after ${killAfter} of ~${referenceEvents} events (last: ${lastType}; ${before.length} journal records then), amlfs resume (seed ${seed})`,
      "journal of complete lines after the kill, kept as a prefix; resumed run: same final mu, journal results and final sha256 as the uninterrupted run; nothing partial",
    );
  }, caseTimeoutMs(60_000));
});
