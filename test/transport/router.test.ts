/**
 * The controller's socket never dies on bad input: garbage frames, wrong versions, other
 * runs, forged senders, wrong payloads, oversized headers and raw TCP junk are each
 * rejected (logged with reason and sender, answered with `reject`), and a valid message
 * sent afterwards is still delivered.
 */
import { connect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { MAX_CHUNK_BYTES, MAX_HEADER_BYTES } from "../../src/schema/wire/messages.js";
import { DealerEndpoint } from "../../src/transport/dealer.js";
import { TransportError } from "../../src/transport/errors.js";
import { type Received, type Rejection, RouterEndpoint } from "../../src/transport/router.js";
import { waitFor } from "./wait.js";

const runId = "run-x";
const header = (fields: Record<string, unknown>) =>
  Buffer.from(JSON.stringify({ protocol: 1, msgId: "w0-1", runId, sender: "w0", type: "heartbeat", ...fields }));

describe("RouterEndpoint", () => {
  const lines: string[] = [];
  const received: Received[] = [];
  const rejected: Rejection[] = [];
  let router: RouterEndpoint;
  let dealer: DealerEndpoint;
  const answers: { type: string; reason?: string; rejectedMsgId?: string | null }[] = [];

  beforeAll(async () => {
    router = await RouterEndpoint.bind({ runId, log: (line) => lines.push(line), maxCheckpointBytes: 1024 });
    router.onMessage((message) => received.push(message));
    router.onReject((rejection) => rejected.push(rejection));
    dealer = DealerEndpoint.connect({ endpoint: router.endpoint, workerId: "w0", runId, log: () => {} });
    dealer.onMessage(({ message }) => answers.push(message as (typeof answers)[number]));
  });
  afterAll(async () => {
    await dealer.close();
    await router.close();
  });
  afterEach(() => {
    answers.length = 0;
  });

  async function expectRejected(frames: Uint8Array[], field: string): Promise<void> {
    const before = rejected.length;
    dealer.sendRaw(frames);
    await waitFor(() => rejected.length > before && answers.some((a) => a.type === "reject"), 5000, `a reject naming ${field}`);
    expect(rejected.at(-1)?.field).toBe(field);
    expect(lines.at(-1)).toMatch(/rejected message.* from w0: /);
    expect(lines.at(-1)).toContain(field);
    const reject = answers.find((a) => a.type === "reject");
    expect(reject?.reason).toContain(field);
    await expectStillWorking();
  }

  async function expectStillWorking(): Promise<void> {
    const before = received.length;
    dealer.send("heartbeat", {});
    await waitFor(() => received.length > before, 5000, "a heartbeat after the bad message");
    expect(received.at(-1)?.message.type).toBe("heartbeat");
  }

  it("binds an ephemeral loopback port and delivers valid messages with their sender", async () => {
    expect(router.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    await expectStillWorking();
    expect(received.at(-1)?.from).toBe("w0");
  });

  it("rejects binary garbage", () => expectRejected([Buffer.from([0xff, 0xfe, 0x00, 0x13])], "header"));
  it("rejects an empty header frame", () => expectRejected([Buffer.alloc(0)], "header"));
  it("rejects text that is not JSON", () => expectRejected([Buffer.from("hello there")], "header"));
  it("rejects JSON that is not an object", () => expectRejected([Buffer.from("42")], "header"));
  it("rejects another protocol version", () => expectRejected([header({ protocol: 2 })], "protocol"));
  it("rejects a missing protocol version", () => expectRejected([header({ protocol: undefined })], "protocol"));
  it("rejects another run", () => expectRejected([header({ runId: "other-run" })], "runId"));
  it("rejects a sender that is not the routing id", () => expectRejected([header({ sender: "w7" })], "sender"));
  it("rejects a header over the size limit", () =>
    expectRejected([header({ padding: "x".repeat(MAX_HEADER_BYTES) })], "header"));
  it("rejects a payload on a message without one", () => expectRejected([header({}), Buffer.from("extra")], "payload"));
  const announce = { type: "checkpoint", sha256: "a".repeat(64), chunkBytes: 512, transferId: "w0-t1" };
  const chunk = { type: "checkpointChunk", transferId: "w0-t1", index: 0, offset: 0 };

  it("rejects a checkpoint chunk without its payload", () => expectRejected([header(chunk)], "payload"));
  it("rejects a checkpoint announcement carrying a payload", () =>
    expectRejected([header({ ...announce, sizeBytes: 3 }), Buffer.from("abc")], "payload"));
  it("rejects a checkpoint chunk over MAX_CHUNK_BYTES", () =>
    expectRejected([header(chunk), Buffer.alloc(MAX_CHUNK_BYTES + 1)], "payload"));
  it("rejects a checkpoint announced over maxCheckpointBytes", () =>
    expectRejected([header({ ...announce, sizeBytes: 2000 })], "sizeBytes"));

  it("names the rejected msgId in the reject it answers", async () => {
    await expectRejected([header({ msgId: "w0-99", protocol: 3 })], "protocol");
    expect(rejected.at(-1)?.msgId).toBe("w0-99");
  });

  it("does not answer a bad reject with a reject (no ping-pong)", async () => {
    const before = rejected.length;
    dealer.sendRaw([header({ type: "reject", reason: 5 })]);
    await waitFor(() => rejected.length > before);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answers.filter((a) => a.type === "reject")).toHaveLength(0);
    await expectStillWorking();
  });

  it("survives a raw TCP connection that sends junk", async () => {
    const port = Number(router.endpoint.split(":").at(-1));
    await new Promise<void>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(Buffer.from("GET / HTTP/1.1\r\n\r\n\x00\xff\xff garbage"));
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 100);
      });
      socket.on("error", () => resolve());
    });
    await expectStillWorking();
  });

  it("answers a peer with an odd routing id, naming it in hex", async () => {
    const odd = new zmq.Dealer({ routingId: "bad id\u0001", linger: 0 });
    odd.connect(router.endpoint);
    await odd.send([Buffer.from("junk")]);
    const [reply] = await odd.receive();
    expect(JSON.parse(String(reply)).type).toBe("reject");
    expect(lines.at(-1)).toContain("0x");
    odd.close();
    await expectStillWorking();
  });

  it("gives msgIds <sender>-<counter>", () => {
    const first = router.send("w0", "heartbeat", {});
    const second = router.send("w0", "heartbeat", {});
    expect(first).toMatch(/^controller-\d+$/);
    expect(Number(second.split("-")[1])).toBe(Number(first.split("-")[1]) + 1);
  });

  it("refuses to send an invalid message, naming the field", () => {
    expect(() => router.send("w0", "initRequest", { seed: -1 })).toThrow(TransportError);
    expect(() => router.send("w0", "initRequest", { seed: -1 })).toThrow(/seed/);
    const chunk = { transferId: "controller-t1", index: 0, offset: 0 };
    expect(() => router.send("w0", "checkpointChunk", chunk)).toThrow(/payload/);
    const announce = { sha256: "a".repeat(64), sizeBytes: 5, chunkBytes: 4, transferId: "controller-t1" };
    expect(() => router.send("w0", "checkpoint", announce, [Buffer.alloc(5)])).toThrow(/payload/);
  });

  it("logs, and goes on, when a message goes to a peer that is not there", async () => {
    router.send("nobody", "heartbeat", {});
    await router.flushed();
    expect(lines.at(-1)).toMatch(/could not send heartbeat .* to nobody/);
    await expectStillWorking();
  });
});
