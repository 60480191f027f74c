/**
 * A run whose controller listens beyond loopback (tcp://0.0.0.0:*, as with the slurm
 * launcher) is a CURVE server: the real Python workers get their keys through owner-only
 * files (keys/<worker>.key, AMLFS_CURVE_KEYS) and finish the search; a client that brings
 * no keys, or keys the run did not issue, never reaches the controller.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { LocalLauncher } from "../../src/launch/local.js";
import { EventStream, type TimedEvent } from "../../src/orchestrate/events.js";
import { RunDir } from "../../src/orchestrate/run-dir.js";
import { runIn } from "../../src/orchestrate/run.js";
import { parseExperiment } from "../../src/schema/index.js";
import { needsCurve } from "../../src/transport/curve.js";
import { checkFinishedRun } from "../helpers/check-journal.js";
import { SKIP_REASON, tinyDemoConfig } from "./python-env.js";
import { scaled } from "../helpers/load.js";

describe("needsCurve", () => {
  it("asks for CURVE on TCP beyond loopback only", () => {
    expect(["tcp://0.0.0.0:*", "tcp://10.1.2.3:5555", "tcp://node7:*", "tcp://[::]:*"].map(needsCurve)).toEqual([true, true, true, true]);
    expect(["tcp://127.0.0.1:*", "tcp://localhost:5555", "tcp://[::1]:*", "ipc:///tmp/x"].map(needsCurve)).toEqual([false, false, false, false]);
  });
});

describe.skipIf(SKIP_REASON !== null)(`a CURVE run with the real Python worker${SKIP_REASON === null ? "" : ` (skipped: ${SKIP_REASON})`}`, () => {
  it("finishes with issued keys and refuses clients without them", { timeout: scaled(120_000) }, async () => {
    const config = parseExperiment(JSON.parse(readFileSync(tinyDemoConfig(), "utf8")));
    const dir = await RunDir.create(join(mkdtempSync(join(tmpdir(), "amlfs-curve-")), "run"), config);
    const events = new EventStream();
    const seen: TimedEvent[] = [];
    events.subscribe((event) => seen.push(event));
    const strangers: zmq.Dealer[] = [];
    const answers: string[] = [];
    await runIn(dir, config, false, {
      events,
      bindTo: "tcp://0.0.0.0:*",
      onEndpoint: (endpoint, runId) => {
        const hello = JSON.stringify({ protocol: 1, type: "hello", msgId: "s-1", runId, sender: "stranger" });
        const plain = new zmq.Dealer({ routingId: "plain", linger: 0, receiveTimeout: 3000 });
        const pair = zmq.curveKeyPair();
        const wrongKeys = new zmq.Dealer({ routingId: "wrong-keys", linger: 0, receiveTimeout: 3000, curveServerKey: zmq.curveKeyPair().publicKey,
          curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey });
        for (const socket of [plain, wrongKeys]) {
          strangers.push(socket);
          socket.connect(endpoint);
          void (async () => {
            await socket.send([Buffer.from(hello)]);
            answers.push(String((await socket.receive())[0]));
          })().catch(() => {});
        }
      },
      launcher: ({ runDir, log }) =>
        new LocalLauncher({ count: config.workers.count, devices: config.workers.devices, threadsPerWorker: 1, logsDir: runDir.logsDir, log }),
    });
    for (const socket of strangers) socket.close();
    expect(answers).toEqual([]);
    const run = checkFinishedRun(dir.path);
    expect(run.epochs.every((record) => record.failures.length === 0)).toBe(true);
    expect(seen.filter((event) => event.type === "worker-up").length).toBeGreaterThanOrEqual(1); // the second may come after this short run
    expect(readFileSync(join(dir.path, "logs", "controller.log"), "utf8")).toMatch(/CURVE: encrypted socket at tcp:\/\/0\.0\.0\.0:\d+/);
    const keys = join(dir.path, "keys");
    expect(statSync(keys).mode & 0o777).toBe(0o700);
    expect(readdirSync(keys).sort()).toEqual(["w0.key", "w1.key"]);
    for (const file of readdirSync(keys)) expect(statSync(join(keys, file)).mode & 0o777).toBe(0o600);
  });
});
