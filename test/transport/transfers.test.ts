/**
 * Chunked checkpoint transfers with credit (docs/protocol.md, "Checkpoint transfer") over
 * real sockets: the sender sends exactly what the credit allows, a long transfer leaves
 * room for heartbeats, and a transfer that is corrupted, stalls, or whose peer is lost
 * leaves no file behind.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MessageOf } from "../../src/schema/wire/messages.js";
import { DealerEndpoint, type DealerReceived } from "../../src/transport/dealer.js";
import { sha256Hex } from "../../src/transport/digest.js";
import { type Received, RouterEndpoint } from "../../src/transport/router.js";
import { type Post, Transfers } from "../../src/transport/transfers.js";
import { waitFor } from "./wait.js";
import { scaled } from "../helpers/load.js";

const runId = "run-t";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("checkpoint transfers", () => {
  let dir: string;
  let router: RouterEndpoint;
  let dealer: DealerEndpoint;
  const atRouter: Received[] = [];
  const atDealer: DealerReceived[] = [];
  const logs: string[] = [];
  let routerHandler: (received: Received) => void = () => {};
  let dealerHandler: (received: DealerReceived) => void = () => {};

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "amlfs-transfer-test-"));
    atRouter.length = 0;
    atDealer.length = 0;
    logs.length = 0;
    router = await RouterEndpoint.bind({ runId, log: (line) => logs.push(line) });
    router.onMessage((received) => {
      atRouter.push(received);
      routerHandler(received);
    });
    dealer = DealerEndpoint.connect({ endpoint: router.endpoint, workerId: "w0", runId, log: (line) => logs.push(line) });
    dealer.onMessage((received) => {
      atDealer.push(received);
      dealerHandler(received);
    });
    // The router learns the dealer's routing id from its first message.
    dealer.send("heartbeat", {});
    await waitFor(() => atRouter.length > 0);
  });
  afterEach(async () => {
    routerHandler = () => {};
    dealerHandler = () => {};
    await dealer.close();
    await router.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const routerPost: Post = (peer, type, fields, payload) => router.send(peer, type, fields, payload);
  const dealerPost: Post = (_peer, type, fields, payload) => dealer.send(type, fields, payload);
  const chunksAtDealer = () => atDealer.filter((r) => r.message.type === "checkpointChunk");

  it("sends a file in order, never more chunks than the credit granted", async () => {
    const bytes = randomBytes(50 * 1000 + 123);
    const path = join(dir, "source.safetensors");
    writeFileSync(path, bytes);
    const sender = new Transfers({ idPrefix: "controller", post: routerPost, log: () => {}, chunkBytes: 1000 });
    routerHandler = ({ from, message, payload }) => sender.handle(from, message, payload);
    const { transferId, done } = sender.send("w0", { path }, { sha256: sha256Hex(bytes), sizeBytes: bytes.byteLength, taskId: "t1" });
    await waitFor(() => atDealer.some((r) => r.message.type === "checkpoint"));
    const announce = atDealer.find((r) => r.message.type === "checkpoint")?.message as MessageOf<"checkpoint">;
    expect(announce).toMatchObject({ transferId, chunkBytes: 1000, sizeBytes: bytes.byteLength, taskId: "t1" });

    dealer.send("credit", { transferId, chunks: 3 });
    await sleep(150);
    expect(chunksAtDealer()).toHaveLength(3);
    dealer.send("credit", { transferId, chunks: 1 });
    await sleep(100);
    expect(chunksAtDealer()).toHaveLength(4);
    dealer.send("credit", { transferId, chunks: 47 });
    await done;
    await waitFor(() => chunksAtDealer().length === 51);
    const chunks = chunksAtDealer();
    expect(chunks.map((r) => (r.message as MessageOf<"checkpointChunk">).index)).toEqual([...Array(51).keys()]);
    expect(chunks.map((r) => (r.message as MessageOf<"checkpointChunk">).offset)).toEqual([...Array(51).keys()].map((i) => i * 1000));
    expect(Buffer.concat(chunks.map((r) => r.payload[0] as Buffer)).equals(bytes)).toBe(true);
    expect(sender.active).toEqual({ sending: 0, receiving: 0 });
  });

  it("receives into a verified file with at most `window` chunks unacknowledged", async () => {
    const bytes = randomBytes(300 * 1024);
    const window = 2;
    const receiver = new Transfers({ idPrefix: "controller", post: routerPost, log: () => {}, windowChunks: window });
    // Counted on the sender's side of the wire: chunks sent, credit received.
    let sent = 0;
    let credited = 0;
    let maxUnacknowledged = 0;
    const counting = new Transfers({
      idPrefix: "w0",
      log: () => {},
      chunkBytes: 1024,
      post: (peer, type, fields, payload) => {
        if (type === "checkpointChunk") {
          sent += 1;
          maxUnacknowledged = Math.max(maxUnacknowledged, sent - Math.max(0, credited - window));
        }
        return dealerPost(peer, type, fields, payload);
      },
    });
    let file: Promise<{ path: string; sha256: string }> | null = null;
    routerHandler = ({ from, message, payload }) => {
      if (message.type === "checkpoint") file = receiver.receive(from, message, join(dir, "in.part"));
      else receiver.handle(from, message, payload);
    };
    dealerHandler = ({ message, payload }) => {
      if (message.type === "credit") credited += message.chunks;
      counting.handle("controller", message, payload);
    };
    const { done } = counting.send("controller", { bytes }, { sha256: sha256Hex(bytes), sizeBytes: bytes.byteLength });
    await done;
    await waitFor(() => file !== null);
    const received = await (file as unknown as Promise<{ path: string; sha256: string }>);
    expect(readFileSync(received.path).equals(bytes)).toBe(true);
    expect(received.sha256).toBe(sha256Hex(bytes));
    expect(sent).toBe(300);
    expect(maxUnacknowledged).toBe(window);
  });

  it("keeps heartbeats flowing both ways during a long transfer", async () => {
    const bytes = randomBytes(48 * 1024 * 1024);
    const receiver = new Transfers({ idPrefix: "controller", post: routerPost, log: () => {} });
    const sender = new Transfers({ idPrefix: "w0", post: dealerPost, log: () => {}, chunkBytes: 256 * 1024 });
    const beatsAtRouter: number[] = [];
    const beatsAtDealer: number[] = [];
    let file: Promise<unknown> | null = null;
    routerHandler = ({ from, message, payload }) => {
      if (message.type === "heartbeat") beatsAtRouter.push(performance.now());
      else if (message.type === "checkpoint") file = receiver.receive(from, message, join(dir, "big.part"));
      else receiver.handle(from, message, payload);
    };
    dealerHandler = ({ message, payload }) => {
      if (message.type === "heartbeat") beatsAtDealer.push(performance.now());
      else sender.handle("controller", message, payload);
    };
    const timer = setInterval(() => {
      dealer.send("heartbeat", {});
      router.send("w0", "heartbeat", {});
    }, 10);
    const started = performance.now();
    try {
      sender.send("controller", { bytes }, { sha256: sha256Hex(bytes), sizeBytes: bytes.byteLength });
      await waitFor(() => file !== null);
      await file;
    } finally {
      clearInterval(timer);
    }
    const ended = performance.now();
    const during = (beats: number[]) => beats.filter((t) => t > started && t < ended);
    const maxGap = (beats: number[]) => Math.max(...[started, ...during(beats), ended].map((t, i, all) => (i === 0 ? 0 : t - (all[i - 1] as number))));
    // 192 chunks of 256 KiB; a heartbeat every 10 ms: none may wait behind the whole transfer.
    expect(ended - started).toBeGreaterThan(50);
    expect(during(beatsAtRouter).length).toBeGreaterThan(2);
    expect(during(beatsAtDealer).length).toBeGreaterThan(2);
    expect(maxGap(beatsAtRouter)).toBeLessThan((ended - started) / 2);
    expect(maxGap(beatsAtDealer)).toBeLessThan((ended - started) / 2);
  }, scaled(30_000));

  it("rejects a corrupted chunk by the sha256 of the whole, removes the file and tells the sender", async () => {
    const bytes = randomBytes(10 * 1024);
    const receiver = new Transfers({ idPrefix: "controller", post: routerPost, log: (l) => logs.push(l) });
    let file: Promise<unknown> | null = null;
    routerHandler = ({ from, message, payload }) => {
      if (message.type === "checkpoint") file = receiver.receive(from, message, join(dir, "bad.part"));
      else receiver.handle(from, message, payload);
    };
    const corrupting: Post = (peer, type, fields, payload) => {
      if (type === "checkpointChunk" && (fields as unknown as { index: number }).index === 3) {
        const bad = Buffer.from(payload?.[0] as Uint8Array);
        bad[17] = (bad[17] as number) ^ 1;
        return dealerPost(peer, type, fields, [bad]);
      }
      return dealerPost(peer, type, fields, payload);
    };
    const sender = new Transfers({ idPrefix: "w0", post: corrupting, log: () => {}, chunkBytes: 1024 });
    dealerHandler = ({ message, payload }) => sender.handle("controller", message, payload);
    sender.send("controller", { bytes }, { sha256: sha256Hex(bytes), sizeBytes: bytes.byteLength });
    await waitFor(() => file !== null);
    await expect(file).rejects.toMatchObject({ field: "sha256" });
    expect(readdirSync(dir)).toEqual([]);
    await waitFor(() => atDealer.some((r) => r.message.type === "checkpointAbort"));
    const abort = atDealer.find((r) => r.message.type === "checkpointAbort")?.message as MessageOf<"checkpointAbort">;
    expect(abort.reason).toMatch(/^sha256: announced [0-9a-f]{64}, the 10 chunks hash to [0-9a-f]{64}$/);
  });

  it("abandons a transfer whose sender stops mid-way: after the timeout, or when the peer is dropped", async () => {
    const bytes = randomBytes(20 * 1024);
    const receiver = new Transfers({ idPrefix: "controller", post: routerPost, log: (l) => logs.push(l), timeoutMs: 200 });
    const files: Promise<unknown>[] = [];
    routerHandler = ({ from, message, payload }) => {
      if (message.type === "checkpoint") files.push(receiver.receive(from, message, join(dir, `${message.transferId}.part`)));
      else receiver.handle(from, message, payload);
    };
    // A sender that dies after 5 chunks: it stops sending, whatever the credit.
    let chunks = 0;
    const dying: Post = (peer, type, fields, payload) => {
      if (type === "checkpointChunk" && ++chunks > 5) return "";
      return dealerPost(peer, type, fields, payload);
    };
    const sender = new Transfers({ idPrefix: "w0", post: dying, log: () => {}, chunkBytes: 1024 });
    dealerHandler = ({ message, payload }) => sender.handle("controller", message, payload);
    sender.send("controller", { bytes }, { sha256: sha256Hex(bytes), sizeBytes: bytes.byteLength });
    await waitFor(() => files.length === 1 && existsSync(join(dir, "w0-t1.part")));
    await expect(files[0]).rejects.toThrow(/no chunk from w0 for 200 ms/);
    expect(readdirSync(dir)).toEqual([]);
    await waitFor(() => atDealer.some((r) => r.message.type === "checkpointAbort"));

    chunks = 0;
    sender.send("controller", { bytes }, { sha256: sha256Hex(bytes), sizeBytes: bytes.byteLength });
    await waitFor(() => files.length === 2 && chunks > 5);
    await receiver.dropPeer("w0", "worker w0 lost");
    await expect(files[1]).rejects.toThrow(/worker w0 lost/);
    expect(readdirSync(dir)).toEqual([]);
    expect(receiver.active).toEqual({ sending: 0, receiving: 0 });
  });
});
