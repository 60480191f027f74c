/**
 * The run directory: the frozen config, checkpoints verified on load (a corrupted or
 * replaced file is refused, naming it), retention of the last N, the lock that keeps a
 * second controller out (and a stale one that is taken over).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunError } from "../../src/orchestrate/errors.js";
import { RunDir, checkpointName } from "../../src/orchestrate/run-dir.js";
import { encodeSafetensors } from "../../src/orchestrate/safetensors.js";
import { sha256Hex } from "../../src/transport/digest.js";
import { tinyConfig } from "./config.js";
import { newRunDir } from "./run-fake.js";

const state = (value: number) => encodeSafetensors({ w: new Float64Array([value, value + 1]) }, { epoch: "1" });

describe("RunDir", () => {
  it("freezes the validated config and refuses to create a run over another", async () => {
    const path = newRunDir();
    const config = tinyConfig();
    await RunDir.create(path, config);
    expect(JSON.parse(readFileSync(join(path, "config.json"), "utf8"))).toEqual(config);
    expect(readdirSync(path).sort()).toEqual(["checkpoints", "config.json", "final", "logs"]);
    await expect(RunDir.create(path, config)).rejects.toThrow(/already holds a run; continue it with `amlfs resume/);
    const { config: reopened } = await RunDir.open(path);
    expect(reopened).toEqual(config);
  });

  it("verifies a checkpoint's sha256 on load, naming the file", async () => {
    const dir = await RunDir.create(newRunDir(), tinyConfig());
    const bytes = state(1);
    const stored = await dir.storeCheckpoint(0, bytes, sha256Hex(bytes));
    expect(stored).toEqual({ file: "checkpoints/w_0000.safetensors", sha256: sha256Hex(bytes), sizeBytes: bytes.byteLength });
    expect((await dir.loadCheckpoint(stored)).equals(bytes)).toBe(true);
    const corrupted = Buffer.from(bytes);
    corrupted.writeUInt8((corrupted.at(-1) as number) ^ 1, corrupted.length - 1);
    writeFileSync(join(dir.path, stored.file), corrupted);
    await expect(dir.loadCheckpoint(stored)).rejects.toThrow(/w_0000\.safetensors: sha256 is [0-9a-f]{64}, expected/);
  });

  it("refuses to store bytes that are not a safetensors file", async () => {
    const dir = await RunDir.create(newRunDir(), tinyConfig());
    const junk = Buffer.from("definitely not safetensors");
    await expect(dir.storeCheckpoint(1, junk, sha256Hex(junk))).rejects.toThrow(/w_0001\.safetensors is not a safetensors file/);
  });

  it("keeps only the checkpoints it is told to", async () => {
    const dir = await RunDir.create(newRunDir(), tinyConfig());
    for (let i = 0; i < 5; i++) await dir.storeCheckpoint(i, state(i), sha256Hex(state(i)));
    const removed = await dir.pruneCheckpoints([checkpointName(4), checkpointName(3), checkpointName(2)]);
    expect(removed.sort()).toEqual([checkpointName(0), checkpointName(1)]);
    expect(readdirSync(join(dir.path, "checkpoints")).sort()).toEqual(["w_0002.safetensors", "w_0003.safetensors", "w_0004.safetensors"]);
  });

  it("leaves a live run's temporary and transfer files alone when a second process is refused the lock", async () => {
    const dir = await RunDir.create(newRunDir(), tinyConfig());
    const unlock = await dir.lock(); // the live run
    const part = join(dir.transferDir, "w1-r1.w1-r1-t1.part");
    const temp = join(dir.path, "checkpoints", ".w_0003.safetensors.0123456789ab.tmp");
    mkdirSync(dir.transferDir, { recursive: true });
    writeFileSync(part, "half a checkpoint");
    writeFileSync(temp, "half a write");
    writeFileSync(join(dir.path, ".lock"), `${process.ppid}\n`); // held by another live process
    const { dir: second } = await RunDir.open(dir.path);
    await expect(second.lock()).rejects.toThrow("in use by another amlfs process");
    expect(existsSync(part)).toBe(true);
    expect(existsSync(temp)).toBe(true);
    writeFileSync(join(dir.path, ".lock"), `${process.pid}\n`);
    await unlock();
    const unlockAgain = await second.lock(); // the holder is gone: what it left is removed
    expect(existsSync(part)).toBe(false);
    expect(existsSync(temp)).toBe(false);
    await unlockAgain();
  });

  it("locks the run against a second live process and takes over a stale lock", async () => {
    const dir = await RunDir.create(newRunDir(), tinyConfig());
    writeFileSync(join(dir.path, ".lock"), `${process.ppid}\n`);
    await expect(dir.lock()).rejects.toThrow(RunError);
    await expect(dir.lock()).rejects.toThrow(`in use by another amlfs process (pid ${process.ppid})`);
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid as number;
    writeFileSync(join(dir.path, ".lock"), `${gone}\n`);
    const unlock = await dir.lock();
    expect(readFileSync(join(dir.path, ".lock"), "utf8").trim()).toBe(String(process.pid));
    await unlock();
    expect(readdirSync(dir.path)).not.toContain(".lock");
  });
});
