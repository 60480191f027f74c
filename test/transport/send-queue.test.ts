/**
 * Sends to a worker that is gone fail until the controller notices (a heartbeat a second):
 * the first failure per peer is logged, the repeats are not, so the log keeps the cause of
 * a failed run in sight; after a send to that peer went through, a new failure is news
 * again. Real ROUTER and DEALER sockets; one worker stays connected all along, as in a run
 * (with no peer at all, a ROUTER with `mandatory` is not writable, and a send waits for one).
 */
import { describe, expect, it } from "vitest";
import { DealerEndpoint } from "../../src/transport/dealer.js";
import { RouterEndpoint } from "../../src/transport/router.js";
import { waitFor } from "./wait.js";

const runId = "run-q";

describe("SendQueue: failed sends to a peer", () => {
  it("logs the first failure per peer, and again only after a send to it went through", async () => {
    const lines: string[] = [];
    const failures = () => lines.filter((line) => line.includes("could not send"));
    const router = await RouterEndpoint.bind({ runId, log: (line) => lines.push(line) });
    const heardFrom = new Set<string>();
    router.onMessage(({ from }) => heardFrom.add(from));

    /** A worker `id` that says something, gets one message, and leaves. */
    async function visit(id: string): Promise<void> {
      heardFrom.delete(id);
      const dealer = DealerEndpoint.connect({ endpoint: router.endpoint, workerId: id, runId, log: () => {} });
      let heard = 0;
      dealer.onMessage(() => (heard += 1));
      try {
        dealer.send("heartbeat", {});
        await waitFor(() => heardFrom.has(id), 10_000, `the router to hear from ${id}`);
        router.send(id, "heartbeat", {});
        await waitFor(() => heard > 0, 10_000, `${id} to get a heartbeat`);
      } finally {
        await dealer.close();
      }
    }

    /** Sends to `id` until `count` failures are logged, then a few more; the count must stay. */
    async function failUntil(id: string, count: number): Promise<void> {
      await waitFor(
        () => {
          router.send(id, "heartbeat", {});
          return failures().length >= count;
        },
        10_000,
        `a failed send to ${id} after it left`,
      );
      for (let i = 0; i < 5; i++) router.send(id, "heartbeat", {});
      await router.flushed();
      expect(failures(), lines.join("\n")).toHaveLength(count);
    }

    const anchor = DealerEndpoint.connect({ endpoint: router.endpoint, workerId: "w0", runId, log: () => {} });
    try {
      anchor.send("heartbeat", {});
      await waitFor(() => heardFrom.has("w0"), 10_000, "the router to hear from w0");
      await visit("w9");
      await visit("w8");
      await failUntil("w9", 1);
      expect(failures()[0]).toMatch(/could not send heartbeat controller-\d+ to w9: .+ \(further failures to w9 are not logged until a send to it succeeds\)$/);
      await failUntil("w8", 2);
      expect(failures()[1]).toMatch(/to w8: /);
      await visit("w9"); // a send to w9 goes through: its next failure is news again
      await failUntil("w9", 3);
      expect(failures()[2]).toMatch(/to w9: /);

      // A worker the controller knows is gone is not logged at all; w6, which left after it, shows that sends fail.
      await visit("w7");
      await visit("w6");
      router.peerGone("w7");
      await waitFor(
        () => {
          router.send("w7", "heartbeat", {});
          router.send("w6", "heartbeat", {});
          return failures().some((line) => line.includes("to w6"));
        },
        10_000,
        "a failed send to w6 after it left",
      );
      for (let i = 0; i < 5; i++) router.send("w7", "heartbeat", {});
      await router.flushed();
      expect(failures().filter((line) => line.includes("to w7"))).toEqual([]);
      expect(failures().filter((line) => line.includes("to w0"))).toEqual([]);
    } finally {
      await anchor.close();
      await router.close();
    }
  });
});
