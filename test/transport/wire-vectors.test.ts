/**
 * Every case of proto/vectors/wire/messages.json through the receiver's validation: each
 * valid header is accepted, each invalid one rejected with a reason naming `error.field`;
 * then the same cases over a real socket, where a rejected message is answered with
 * `reject` and the receiver keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeHeader } from "../../src/schema/wire/validate.js";
import { DealerEndpoint } from "../../src/transport/dealer.js";
import { type Received, type Rejection, RouterEndpoint } from "../../src/transport/router.js";
import { type VectorCase, readVectors } from "../helpers/vectors.js";
import { waitFor } from "./wait.js";

interface WireCase extends VectorCase {
  header?: unknown;
  raw?: string;
}

const vectors = readVectors<WireCase>("wire/messages.json");
const frameOf = (c: WireCase): Buffer => Buffer.from(c.raw ?? JSON.stringify(c.header), "utf8");

describe("wire vectors: header validation", () => {
  for (const c of vectors.cases) {
    it(`${c.valid ? "accepts" : "rejects"} ${c.name}`, () => {
      const check = decodeHeader(frameOf(c));
      if (c.valid) {
        expect(check, JSON.stringify(check)).toMatchObject({ ok: true });
      } else {
        expect(check.ok).toBe(false);
        if (check.ok) return;
        expect(check.field).toBe(c.error?.field);
        expect(check.reason).toContain(c.error?.field);
      }
    });
  }

  it("covers every message type with a valid case", () => {
    const types = new Set(vectors.cases.filter((c) => c.valid).map((c) => (c.header as { type: string }).type));
    expect([...types].sort()).toEqual(
      [
        "checkpoint",
        "checkpointAbort",
        "checkpointChunk",
        "checkpointRequest",
        "credit",
        "fatal",
        "heartbeat",
        "hello",
        "initRequest",
        "keep",
        "progress",
        "reject",
        "result",
        "shutdown",
        "task",
        "welcome",
      ],
    );
  });
});

describe("wire vectors over a real ROUTER socket", () => {
  const runId = "run-1";
  const lines: string[] = [];
  const received: Received[] = [];
  const rejected: Rejection[] = [];
  let router: RouterEndpoint;

  beforeAll(async () => {
    router = await RouterEndpoint.bind({ runId, log: (line) => lines.push(line) });
    router.onMessage((message) => received.push(message));
    router.onReject((rejection) => rejected.push(rejection));
  });
  afterAll(async () => {
    await router.close();
  });

  for (const c of vectors.cases) {
    it(`${c.valid ? "delivers" : "rejects and answers"} ${c.name}`, async () => {
      // The routing id must equal the header's sender; a chunk needs its payload.
      const header = c.header as Record<string, unknown> | undefined;
      const sender = typeof header?.sender === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(header.sender) ? header.sender : "w0";
      const dealer = DealerEndpoint.connect({ endpoint: router.endpoint, workerId: sender, runId });
      const answers: string[] = [];
      dealer.onMessage(({ message }) => answers.push(message.type));
      const before = { received: received.length, rejected: rejected.length };
      const frame = frameOf(c);
      const payload = header?.type === "checkpointChunk" && c.valid ? [Buffer.alloc(1024)] : [];
      dealer.sendRaw([frame, ...payload]);
      if (c.valid) {
        await waitFor(() => received.length > before.received || rejected.length > before.rejected);
        expect(rejected.length, lines.at(-1)).toBe(before.rejected);
        expect(received.at(-1)?.message.type).toBe((header as { type: string }).type);
      } else {
        await waitFor(() => rejected.length > before.rejected && answers.includes("reject"));
        expect(rejected.at(-1)?.field).toBe(c.error?.field);
        expect(lines.at(-1)).toContain(c.error?.field);
        expect(lines.at(-1)).toContain(sender);
      }
      await dealer.close();
    });
  }
});
