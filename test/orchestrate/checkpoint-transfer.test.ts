/**
 * Checkpoint transfers inside a run (docs/protocol.md, "Checkpoint transfer"): fake
 * workers move states of many chunks with a small window; a worker that dies in the
 * middle of uploading the winner, and an upload with a corrupted chunk, are abandoned
 * (nothing partial is used) and the run ends with the same final model as a run where
 * nothing went wrong.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkFinishedRun } from "../helpers/check-journal.js";
import { tinyConfig } from "./config.js";
import { runFake } from "./run-fake.js";
import { scaled } from "../helpers/load.js";

// 4,096 float64 entries: a 32 KiB state, 33 chunks of 1 KiB, window 2 on the workers.
const chunked = { stateSize: 4096, chunkBytes: 1024, windowChunks: 2 };

const finalBytes = (dir: string): Buffer => readFileSync(join(dir, "final", "model.safetensors"));

describe("checkpoint transfers in a run", () => {
  it("trains the winner again when its holder dies in the middle of uploading it", async () => {
    const config = tinyConfig({ epochs: 2, heartbeatTimeoutMs: 500 });
    const reference = await runFake(config, [{ id: "w0", ...chunked }, { id: "w1", ...chunked }]);
    expect(reference.error).toBeNull();
    // One object shared by all workers: the first upload of a trained state is cut after 5 chunks.
    const doom = { armed: true, afterChunks: 5 };
    const workers = ["w0", "w1", "w2"].map((id) => ({ id, ...chunked, crashMidUpload: doom }));
    const run = await runFake(config, workers);
    expect(run.error).toBeNull();
    expect(doom.armed).toBe(false);
    const lost = run.events.filter((e) => e.type === "worker-lost");
    expect(lost).toHaveLength(1);
    expect(run.logs.some((line) => /transfer .* abandoned: worker w\d lost/.test(line))).toBe(true);
    expect(run.logs.some((line) => /holder of the winner .* is gone; training it again/.test(line))).toBe(true);
    checkFinishedRun(run.dir);
    expect(finalBytes(run.dir).equals(finalBytes(reference.dir))).toBe(true);
  }, scaled(30_000));

  it("asks again for an upload whose chunks do not hash to its sha256", async () => {
    const config = tinyConfig({ epochs: 2 });
    const reference = await runFake(config, [{ id: "w0", ...chunked }, { id: "w1", ...chunked }]);
    const run = await runFake(config, [{ id: "w0", ...chunked, corruptUploads: 1 }, { id: "w1", ...chunked, corruptUploads: 1 }]);
    expect(run.error).toBeNull();
    const abandoned = run.logs.filter((line) => /abandoned: sha256: announced [0-9a-f]{64}, the 33 chunks hash to/.test(line));
    expect(abandoned.length).toBeGreaterThanOrEqual(1);
    expect(run.events.filter((e) => e.type === "worker-lost")).toHaveLength(0);
    checkFinishedRun(run.dir);
    expect(finalBytes(run.dir).equals(finalBytes(reference.dir))).toBe(true);
  }, scaled(30_000));
});
