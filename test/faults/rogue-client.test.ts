/**
 * Fault injection (docs/faults.md, case d): during a run, a rogue DEALER on the
 * controller's socket sends >= 1,000 bad messages: malformed and truncated JSON, headers
 * over 64 KiB and fields over their limits, other protocol versions, another runId,
 * unknown types, a forged sender, well-formed messages out of order (no hello: results,
 * progress, checkpoint requests and announcements), chunks, credit and aborts of
 * transfers that do not exist, payload frames where none belong, and one frame over the
 * socket's maxMessageSize. Every one must be rejected (answered `reject`, or logged when
 * it claims to be a reject itself; the oversized frame makes libzmq drop the connection)
 * and the run must end exactly like an undisturbed one.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { MAX_CHUNK_BYTES, MAX_HEADER_BYTES } from "../../src/schema/wire/messages.js";
import { scaled } from "../helpers/load.js";
import { type Behaviour, type ProcessRun, caseTimeoutMs, expectNothingPartial, expectSameResult, faultConfig, report, rng, runWithProcesses, seeds, sleep } from "./faults.js";

const config = faultConfig({ epochs: 4 });
const BEHAVIOUR: Behaviour = { taskMs: 300 };
const ROGUE = "rogue";

let reference: ProcessRun;

beforeAll(async () => {
  reference = await runWithProcesses(config, BEHAVIOUR);
  expect(reference.error).toBeNull();
}, caseTimeoutMs(60_000));

interface Bad {
  kind: string;
  frames: Buffer[];
  /** False for messages that say they are a reject: logged, never answered (no ping-pong). */
  answered: boolean;
}

/** The catalogue of bad messages, `rounds` times over, varied by the seeded generator. */
function badMessages(runId: string, rounds: number, random: () => number): Bad[] {
  let counter = 0;
  const header = (fields: Record<string, unknown>) => {
    counter += 1;
    return { protocol: 1, msgId: `${ROGUE}-${counter}`, runId, sender: ROGUE, ...fields };
  };
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const out: Bad[] = [];
  const add = (kind: string, frames: Buffer[], answered = true) => out.push({ kind, frames, answered });
  for (let round = 0; round < rounds; round++) {
    const valid = json(header({ type: "heartbeat" }));
    add("malformed JSON", [Buffer.from(`{"protocol":1,"type":"heartbeat",${"x".repeat(Math.floor(random() * 40))}`)]);
    add("not UTF-8", [Buffer.from([0xff, 0xfe, 0x80, Math.floor(random() * 256)])]);
    add("JSON that is not an object", [json(pickOf(random, [[1, 2], 42, "hello", null, true]))]);
    add("empty frame", [Buffer.alloc(0)]);
    add("truncated frame", [valid.subarray(0, 1 + Math.floor(random() * (valid.byteLength - 2)))]);
    add("header over 64 KiB", [json(header({ type: "heartbeat", pad: "p".repeat(MAX_HEADER_BYTES) }))]);
    add("field over its limit", [json(header({ type: "progress", taskId: "t".repeat(129 + Math.floor(random() * 1000)), step: 1, steps: 2, loss: 1, samplesPerSec: 1 }))]);
    add("wrong protocol version", [json({ ...header({ type: "heartbeat" }), protocol: pickOf(random, [0, 2, "1", null]) })]);
    add("wrong runId", [json({ ...header({ type: "heartbeat" }), runId: `not-${runId}` })]);
    add("unknown type", [json(header({ type: pickOf(random, ["frobnicate", "task", "welcome2", ""]) }))]);
    add("forged sender", [json({ ...header({ type: "heartbeat" }), sender: "w0" })]);
    add("hello of another run", [json({ ...header({ type: "hello" }), runId: "other-run", pid: 1, host: "h", device: "cpu", threads: 1, versions: { python: "x", torch: "x", amlfs: "x", pyzmq: "x" }, adapter: "small-cnn", datasetSizes: { train: 1, val: 1, test: 1 } })]);
    add("result out of order (no hello)", [json(header({ type: "result", taskId: "e0000-s00-a0", ok: true, reward: 1, metrics: { top1: 1 }, timingsMs: { train: 0, eval: 0 }, trainLoss: 0.1 }))]);
    add("progress out of order", [json(header({ type: "progress", taskId: "e0000-s01-a0", step: 1, steps: 2, loss: 0.5, samplesPerSec: 10 }))]);
    add("checkpointRequest out of order", [json(header({ type: "checkpointRequest", sha256: "0".repeat(64) }))]);
    add("checkpoint announce not asked for", [json(header({ type: "checkpoint", sha256: "a".repeat(64), sizeBytes: 10, chunkBytes: 10, transferId: `${ROGUE}-t${round}` }))]);
    add("chunk of an unknown transfer", [json(header({ type: "checkpointChunk", transferId: `${ROGUE}-t${round}`, index: 0, offset: 0 })), Buffer.from("bytes")]);
    add("credit of an unknown transfer", [json(header({ type: "credit", transferId: `controller-t${round + 1}`, chunks: 4 }))]);
    add("abort of an unknown transfer", [json(header({ type: "checkpointAbort", transferId: `controller-t${round + 1}`, reason: "rogue" }))]);
    add("chunk without its payload", [json(header({ type: "checkpointChunk", transferId: "x-t1", index: 0, offset: 0 }))]);
    add("payload where none belongs", [json(header({ type: "heartbeat" })), Buffer.from("extra")]);
    add("checkpoint over maxCheckpointBytes", [json(header({ type: "checkpoint", sha256: "b".repeat(64), sizeBytes: 2 ** 52, chunkBytes: 1024, transferId: "y-t1" }))]);
    add("a reject of another run", [json({ ...header({ type: "reject", reason: "x", rejectedMsgId: null }), runId: "other" })], false);
  }
  return out;
}

function pickOf<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

describe("faults: a rogue client on the controller's socket", () => {
  it.each(seeds(1, 5))("has >= 1,000 bad messages rejected while the run goes on unaffected (seed %i)", async (seed) => {
    const random = rng(seed);
    let rogue: Promise<{ sent: Bad[]; replies: number; droppedBig: boolean }> | null = null;
    const run = await runWithProcesses(config, BEHAVIOUR, {
      onEvent: (event) => {
        if (event.type === "run-start" && rogue === null) rogue = attack(event.endpoint, event.runId, random);
      },
    });
    expect(rogue).not.toBeNull();
    const { sent, replies, droppedBig } = await (rogue as unknown as Promise<{ sent: Bad[]; replies: number; droppedBig: boolean }>);
    const where = `seed ${seed}`;
    expect(run.error, where).toBeNull();
    expect(sent.length, where).toBeGreaterThanOrEqual(1000);
    // Every answerable message got its reject; every message left a log line naming the rogue.
    const answered = sent.filter((m) => m.answered).length;
    expect(replies, where).toBe(answered);
    const logged = run.logs.filter((line) => /^transport: rejected message.* from rogue: |^refused \S+ from rogue: /.test(line));
    expect(logged.length, where).toBe(sent.length);
    expect(droppedBig, where).toBe(true);
    // The run did not notice: no worker lost, same result as without the rogue.
    expect(run.events.filter((e) => e.type === "worker-lost"), where).toEqual([]);
    expect(run.events.some((e) => e.type === "worker-up" && e.workerId === ROGUE), where).toBe(false);
    expectSameResult(run.dir, reference.dir, where);
    expectNothingPartial(run.dir, where);
    const kinds = new Set(sent.map((m) => m.kind)).size;
    report(
      `rogue DEALER sent ${sent.length} bad messages of ${kinds} kinds during a run, plus one ${MAX_CHUNK_BYTES / 2 ** 20 + 1} MiB frame (seed ${seed})`,
      `${replies} answered with reject, ${sent.length - answered} reject-typed ones logged only, ${logged.length} log lines naming the rogue; oversized frame never reached the run; no worker lost; final sha256 and journal results equal the undisturbed run's`,
    );
  }, caseTimeoutMs(60_000));
});

/** Sends the catalogue, collects the rejects, then sends one frame over maxMessageSize. */
async function attack(endpoint: string, runId: string, random: () => number): Promise<{ sent: Bad[]; replies: number; droppedBig: boolean }> {
  const socket = new zmq.Dealer({ routingId: ROGUE, linger: 0 });
  socket.connect(endpoint);
  const sent = badMessages(runId, 44, random);
  const answered = sent.filter((m) => m.answered).length;
  let replies = 0;
  const reading = (async () => {
    for await (const [first] of socket) {
      const reply = JSON.parse(String(first)) as { type: string };
      if (reply.type === "reject") replies += 1;
      if (replies >= answered) return;
    }
  })();
  for (const message of sent) await socket.send(message.frames);
  // A bound on a hung controller only: every answerable message is answered well before it.
  await Promise.race([reading, sleep(scaled(20_000))]);
  // A frame larger than any chunk: libzmq drops the connection before it is buffered; no reject comes back.
  const before = replies;
  await socket.send([Buffer.alloc(MAX_CHUNK_BYTES + 1024 * 1024)]);
  await sleep(500);
  const droppedBig = replies === before;
  socket.close();
  return { sent, replies, droppedBig };
}
