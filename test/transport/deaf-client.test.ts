/**
 * A client that floods the controller with 40,000 bad messages and never reads the rejects
 * (its receive queue holds one message) does not stall the run of the other workers.
 */
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { tinyConfig } from "../orchestrate/config.js";
import { runFake } from "../orchestrate/run-fake.js";
import { scaled } from "../helpers/load.js";

describe("a deaf client", () => {
  it("floods bad messages without reading the rejects; the run finishes as usual", { timeout: scaled(60_000) }, async () => {
    const config = tinyConfig({ epochs: 3, heartbeatTimeoutMs: 2000 });
    let deaf: zmq.Dealer | null = null;
    let sent = 0;
    const run = await runFake(config, [{ id: "w0" }, { id: "w1" }], {
      extra: {
        onEndpoint: (endpoint) => {
          const socket = new zmq.Dealer({ routingId: "deaf", linger: 0, receiveHighWaterMark: 1 });
          deaf = socket;
          socket.connect(endpoint);
          void (async () => {
            for (; sent < 40000; sent++) await socket.send([Buffer.from("not json")]);
          })().catch(() => {});
        },
      },
    });
    (deaf as zmq.Dealer | null)?.close();
    expect(run.error).toBeNull();
    expect(sent).toBe(40000);
    expect(run.events.some((event) => event.type === "run-end" && event.status === "finished")).toBe(true);
  });
});
