/**
 * Atomic replacement: a crash between writing the temporary file and renaming it leaves
 * the old file intact (simulated by a throwing hook, and for real by a process that
 * SIGKILLs itself at that moment); a run directory sweeps the leftover temp files.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../src/orchestrate/atomic.js";
import { RunDir } from "../../src/orchestrate/run-dir.js";
import { parseExperiment } from "../../src/schema/index.js";

const fresh = () => mkdtempSync(join(tmpdir(), "amlfs-atomic-"));

describe("writeFileAtomic", () => {
  it("replaces the content and leaves no temp file", async () => {
    const dir = fresh();
    const path = join(dir, "file.json");
    writeFileSync(path, "old");
    await writeFileAtomic(path, "new");
    expect(readFileSync(path, "utf8")).toBe("new");
    expect(readdirSync(dir)).toEqual(["file.json"]);
  });

  it("keeps the old file when the writer fails between temp write and rename", async () => {
    const dir = fresh();
    const path = join(dir, "file.json");
    writeFileSync(path, "old");
    await expect(
      writeFileAtomic(path, "new", {
        afterTempWritten: () => {
          throw new Error("simulated crash");
        },
      }),
    ).rejects.toThrow("simulated crash");
    expect(readFileSync(path, "utf8")).toBe("old");
  });

  it("keeps the old file when the process is SIGKILLed between temp write and rename", () => {
    const dir = fresh();
    const path = join(dir, "journal.jsonl");
    writeFileSync(path, "old\n");
    const child = join(import.meta.dirname, "atomic-crash-child.ts");
    let signal: string | null = null;
    try {
      execFileSync(process.execPath, ["--import", "tsx", child, path, "new\n"], { stdio: "pipe" });
    } catch (error) {
      signal = (error as { signal: string | null }).signal;
    }
    expect(signal).toBe("SIGKILL");
    expect(readFileSync(path, "utf8")).toBe("old\n");
    const temps = readdirSync(dir).filter((name) => name.endsWith(".tmp"));
    expect(temps).toHaveLength(1);
    expect(readFileSync(join(dir, temps[0] as string), "utf8")).toBe("new\n");
  });

  it("RunDir.lock sweeps temp files left by a crash, once the run is claimed", async () => {
    const config = parseExperiment({
      name: "sweep",
      baseline: { name: "small-cnn" },
      dataset: { kind: "digits" },
      search: { B: 2, epochs: 1 },
      reward: { metric: "top1" },
    });
    const path = join(fresh(), "run");
    await RunDir.create(path, config);
    writeFileSync(join(path, ".journal.jsonl.0123456789ab.tmp"), "partial");
    writeFileSync(join(path, "checkpoints", ".w_0001.safetensors.0123456789ab.tmp"), "partial");
    const { dir } = await RunDir.open(path);
    expect(readdirSync(path).filter((name) => name.endsWith(".tmp"))).toHaveLength(1); // not before the lock
    const unlock = await dir.lock();
    expect(readdirSync(path).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect(readdirSync(join(path, "checkpoints"))).toEqual([]);
    await unlock();
  });
});
