/**
 * A second command against a live run touches nothing of it: `search --out` the same
 * directory and `resume` are refused, `compare` and `report` only read (report writes its
 * own report/ folder), and the live run then ends exactly as an undisturbed run of the
 * same seed does.
 *
 * The live run is `amlfs search` with fake worker processes whose uploads are slow. When
 * one of its uploads starts arriving (a `.part` file appears in tmp/transfers; epoch 0 is
 * journaled by then), its controller is SIGSTOPped: the run directory stays as a live run
 * leaves it, lock held by a live pid and a transfer half-written, and nothing else writes
 * there. The second command runs to its end against it; every file and folder (content,
 * size, mtime) must be as it was, before the controller is SIGCONTed.
 */
import { createHash } from "node:crypto";
import { type FSWatcher, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, watch } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readJournal } from "../helpers/check-journal.js";
import { followJsonLines } from "../helpers/json-lines.js";
import { scaled } from "../helpers/load.js";
import { SKIP_REASON } from "../integration/python-env.js";
import { expectNothingPartial, expectSameResult } from "../faults/faults.js";
import { amlfs, writeConfig } from "./cli-process.js";

type Result = Awaited<ReturnType<typeof amlfs>>;

// Workers see a paused controller as silent: the timeout outlasts any pause here, so the
// live run loses no worker and stays comparable event for event.
const config = writeConfig({ name: "lock-race", seed: 13, search: { B: 3, epochs: 4, M: 2 }, workers: { count: 2, heartbeatTimeoutMs: 600_000 } });
// Uploads of 9 chunks, each held back (scaled: at least 0.9 s on an idle machine), so the
// controller is stopped while one arrives.
const ENV = { FAKE_WORKER: JSON.stringify({ taskMs: 100, stateSize: 4096, chunkBytes: 4096, chunkDelayMs: scaled(100) }) };

const outDir = () => join(mkdtempSync(join(tmpdir(), "amlfs-race-")), "run");

let referenceDir = "";

beforeAll(async () => {
  referenceDir = outDir();
  const reference = await amlfs(["search", config, "--out", referenceDir, "--json"], ENV);
  expect(reference.exitCode, reference.all).toBe(0);
}, scaled(60_000));

/** Every file and folder under `dir`: kind, size, mtime and, for files, sha256. */
function snapshot(dir: string): Map<string, string> {
  const entries = new Map<string, string>();
  const visit = (path: string) => {
    const stat = statSync(path);
    const name = relative(dir, path) || ".";
    if (stat.isDirectory()) {
      entries.set(name, `dir mtime ${stat.mtimeMs}`);
      for (const child of readdirSync(path)) visit(join(path, child));
    } else {
      const sha = createHash("sha256").update(readFileSync(path)).digest("hex");
      entries.set(name, `file ${stat.size} bytes mtime ${stat.mtimeMs} sha256 ${sha}`);
    }
  };
  visit(dir);
  return entries;
}

/** What differs between two snapshots, one line per path. */
function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  return paths.filter((path) => before.get(path) !== after.get(path)).map((path) => `${path}: ${before.get(path) ?? "(absent)"} -> ${after.get(path) ?? "(absent)"}`);
}

interface Race {
  dir: string;
  livePid: number;
  second: Result;
  /** What the second command changed in the run directory while the live run was stopped. */
  changed: string[];
  frozenAt: string;
}

/**
 * Starts a live run, stops its controller while an upload arrives, runs `second` against
 * it, records what changed, lets the run go on and checks that it ends like the reference.
 */
async function raceAgainstLiveRun(second: (dir: string) => Promise<Result>): Promise<Race> {
  const dir = outDir();
  const child = amlfs(["search", config, "--out", dir, "--json"], ENV);
  const livePid = child.pid as number;
  const lost: unknown[] = [];
  let watcher: FSWatcher | null = null;
  let frozenAt = "";
  const frozen = new Promise<void>((resolve) => {
    followJsonLines(child.stdout, (event) => {
      if (event.type === "worker-lost") lost.push(event);
      // Epoch 0's record is journaled before w_2 is stored; the next upload is epoch 2's winner.
      if (event.type === "checkpoint-stored" && event.epoch === 1 && watcher === null) {
        const transfers = join(dir, "tmp", "transfers");
        watcher = watch(transfers, (_type, name) => {
          if (frozenAt !== "" || name === null || !name.endsWith(".part")) return;
          process.kill(livePid, "SIGSTOP");
          // The event of a .part file that is gone already (its upload ended): wait for the next upload.
          if (!existsSync(join(transfers, name))) {
            process.kill(livePid, "SIGCONT");
            return;
          }
          frozenAt = name;
          resolve();
        });
      }
    });
  });
  const first = await Promise.race([frozen.then(() => "frozen" as const), child.then(() => "ended" as const)]);
  (watcher as FSWatcher | null)?.close();
  if (first === "ended") {
    const result = await child;
    throw new Error(`the live run ended (exit ${result.exitCode}) before an upload of epoch 2 or later was seen arriving: ${result.all}`);
  }
  let changed: string[];
  let result: Result;
  try {
    const before = snapshot(dir);
    expect([...before.keys()], "a transfer is half-written in the live run").toContain(`tmp/transfers/${frozenAt}`);
    result = await second(dir);
    changed = changes(before, snapshot(dir));
  } finally {
    process.kill(livePid, "SIGCONT");
  }
  const live = await child;
  const where = `live run resumed after the second command (stopped at ${frozenAt})`;
  expect(live.exitCode, `${where}: ${live.all}`).toBe(0);
  expect(lost, where).toEqual([]);
  expectSameResult(dir, referenceDir, where);
  expectNothingPartial(dir, where);
  expect(readJournal(dir).flatMap((record) => (record.kind === "epoch" ? record.failures : [])), where).toEqual([]);
  return { dir, livePid, second: result, changed, frozenAt };
}

describe("a second command against a live run", () => {
  it("search --out the live run's directory is refused and touches nothing", async () => {
    const race = await raceAgainstLiveRun((dir) => amlfs(["search", config, "--out", dir], ENV));
    expect(race.second.exitCode, race.second.all).toBe(2);
    expect(race.second.stderr).toContain("already holds a run");
    expect(race.changed).toEqual([]);
  });

  it("resume of the live run is refused (the lock names its pid) and touches nothing", async () => {
    const race = await raceAgainstLiveRun((dir) => amlfs(["resume", dir], ENV));
    // Refused from inside the run command (exit 1 today), after the config was read: no other effect.
    expect(race.second.exitCode, race.second.all).not.toBe(0);
    expect(race.second.stderr).toContain(`is in use by another amlfs process (pid ${race.livePid})`);
    expect(race.changed).toEqual([]);
  });

  it("compare reads the live run as not finished and touches nothing", async () => {
    const race = await raceAgainstLiveRun((dir) => amlfs(["compare", dir, referenceDir]));
    expect(race.second.exitCode, race.second.all).toBe(1);
    const rows = race.second.stdout.trim().split("\n");
    expect(rows).toHaveLength(4);
    expect(rows[2]).toContain("(not finished)");
    expect(rows[3]).not.toContain("(not finished)");
    expect(race.changed).toEqual([]);
  });

  it.skipIf(SKIP_REASON !== null)("report of the live run writes its report/ folder only", async () => {
    const race = await raceAgainstLiveRun((dir) => amlfs(["report", dir]));
    expect(race.second.exitCode, race.second.all).toBe(0);
    const written = race.second.stdout.trim().split("\n");
    expect(written[0]).toBe(join(race.dir, "report", "report.html"));
    // The run directory's own mtime changes with its new report/ entry; nothing else but report/.
    const elsewhere = race.changed.filter((line) => !line.startsWith("report:") && !line.startsWith("report/") && !line.startsWith(".: "));
    expect(elsewhere).toEqual([]);
    expect(race.changed.filter((line) => line.startsWith("report/")).map((line) => line.split(":")[0])).toEqual(
      written.map((path) => `report/${path.split("/report/")[1]}`).sort(),
    );
  });
});
