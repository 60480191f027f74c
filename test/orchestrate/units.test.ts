/**
 * The small pieces of the epoch loop: the task queue and its attempts, the keep/release
 * rule against an independent argmax, task ids, and task seeds against an independent
 * xoshiro128** (checked first against the golden rng vectors).
 */
import { describe, expect, it } from "vitest";
import { EpochBest } from "../../src/orchestrate/epoch-best.js";
import { EventStream } from "../../src/orchestrate/events.js";
import { finalTaskId, taskSeed, trainTaskId } from "../../src/orchestrate/task-ids.js";
import { TaskQueue } from "../../src/orchestrate/task-queue.js";
import { normalizeRewards } from "../../src/search/index.js";
import { readVectors } from "../helpers/vectors.js";

describe("TaskQueue", () => {
  it("hands out tasks in order with attempt 0", () => {
    const queue = new TaskQueue<string>(3);
    queue.enqueue("a", "A");
    queue.enqueue("b", "B");
    expect(queue.take()).toEqual({ key: "a", spec: "A", attempt: 0 });
    expect(queue.take()).toEqual({ key: "b", spec: "B", attempt: 0 });
    expect(queue.take()).toBeUndefined();
  });

  it("puts a retried task first, with the next attempt, while the budget lasts", () => {
    const queue = new TaskQueue<string>(3);
    queue.enqueue("a", "A");
    queue.enqueue("b", "B");
    queue.take();
    expect(queue.retry("a")).toBe(true);
    expect(queue.take()).toEqual({ key: "a", spec: "A", attempt: 1 });
    expect(queue.retry("a")).toBe(true);
    expect(queue.take()).toEqual({ key: "a", spec: "A", attempt: 2 });
    expect(queue.retry("a")).toBe(false);
    expect(queue.attempts("a")).toBe(3);
    expect(queue.take()?.key).toBe("b");
  });

  it("gives a task queued again a fresh budget but keeps counting attempts (ids never repeat)", () => {
    const queue = new TaskQueue<string>(1);
    queue.enqueue("a", "A");
    queue.take();
    expect(queue.retry("a")).toBe(false);
    queue.enqueue("a", "A again");
    expect(queue.take()).toEqual({ key: "a", spec: "A again", attempt: 1 });
  });

  it("drops every waiting task when the run stops", () => {
    const queue = new TaskQueue<string>(2);
    queue.enqueue("a", "x");
    queue.enqueue("b", "y");
    expect(queue.size).toBe(2);
    queue.clear();
    expect(queue.take()).toBeUndefined();
  });

  it("refuses a budget below one", () => {
    expect(() => new TaskQueue(0)).toThrow(/maxTaskAttempts must be an integer >= 1, got 0/);
  });
});

function argmax(rewards: (number | null)[]): number | null {
  let best: number | null = null;
  for (let k = 0; k < rewards.length; k++) {
    const r = rewards[k];
    if (typeof r !== "number" || !Number.isFinite(r)) continue;
    if (best === null || r > (rewards[best] as number)) best = k;
  }
  return best;
}

function* permutations(n: number): Generator<number[]> {
  if (n === 1) {
    yield [0];
    return;
  }
  for (const rest of permutations(n - 1)) {
    for (let i = 0; i <= rest.length; i++) yield [...rest.slice(0, i), n - 1, ...rest.slice(i)];
  }
}

describe("EpochBest (keep / release)", () => {
  const cases: (number | null)[][] = [
    [0.5, 0.7, 0.6, 0.7, null],
    [0.9, 0.9, 0.9, 0.9, 0.9],
    [null, null, 0.1, Number.NaN, 0.1],
    [0.3, 0.2, 0.1, 0.4, 0.05],
  ];
  for (const rewards of cases) {
    it(`ends on the argmax (lowest index on ties) for every arrival order of ${JSON.stringify(rewards)}`, () => {
      const expected = argmax(rewards);
      expect(normalizeRewards(rewards).best).toBe(expected);
      for (const order of permutations(rewards.length)) {
        const best = new EpochBest();
        const kept = new Set<number>();
        for (const k of order) {
          const r = rewards[k];
          if (typeof r !== "number" || !Number.isFinite(r)) continue;
          const offer = best.offer(k, r);
          if (offer.released !== null) {
            expect(kept.has(offer.released)).toBe(true);
            kept.delete(offer.released);
          }
          if (offer.keep) kept.add(k);
        }
        expect(best.sample).toBe(expected);
        // Exactly the winner is still held at the end: every other kept result was released.
        expect([...kept]).toEqual(expected === null ? [] : [expected]);
      }
    });
  }

  it("never keeps a NaN or infinite reward", () => {
    const best = new EpochBest();
    expect(best.offer(0, Number.NaN).keep).toBe(false);
    expect(best.offer(1, Number.POSITIVE_INFINITY).keep).toBe(false);
    expect(best.sample).toBeNull();
  });
});

describe("task ids", () => {
  it("follows docs/protocol.md", () => {
    expect(trainTaskId(3, 1, 0)).toBe("e0003-s01-a0");
    expect(trainTaskId(12, 31, 2)).toBe("e0012-s31-a2");
    expect(finalTaskId(0)).toBe("final-test-a0");
  });
});

/** An independent xoshiro128** seeded by SplitMix64 (docs/algorithm.md), in BigInt. */
function referenceFirstOutput(seed: number, stream: number): number {
  const mask = (1n << 64n) - 1n;
  let state = (BigInt(seed) * 2n ** 32n + BigInt(stream)) & mask;
  const next = (): bigint => {
    state = (state + 0x9e3779b97f4a7c15n) & mask;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
    return z ^ (z >> 31n);
  };
  const z0 = next();
  const s1 = Number((z0 >> 32n) & 0xffffffffn);
  const m32 = (x: bigint) => x & 0xffffffffn;
  const rotl = (x: bigint, k: bigint) => m32((x << k) | (x >> (32n - k)));
  return Number(m32(rotl(m32(BigInt(s1) * 5n), 7n) * 9n));
}

describe("task seeds", () => {
  it("the reference agrees with the golden rng vectors", () => {
    const vectors = readVectors<{ name: string; valid: boolean; seed: number; stream: number; uint32: number[] }>("policy/rng.json");
    for (const c of vectors.cases.filter((v) => v.valid)) {
      expect(referenceFirstOutput(c.seed, c.stream), c.name).toBe(c.uint32[0]);
    }
  });

  it("is the first output of the generator (seed, 2^31 + epoch), the same for every task of an epoch", () => {
    for (const seed of [0, 7, 4294967295]) {
      for (const epoch of [0, 1, 5, 1000]) {
        expect(taskSeed(seed, epoch)).toBe(referenceFirstOutput(seed, 2 ** 31 + epoch));
      }
    }
    expect(taskSeed(7, 0)).not.toBe(taskSeed(7, 1));
  });
});

describe("EventStream", () => {
  it("delivers events to listeners in order and as an async iterable that ends with run-end", async () => {
    const stream = new EventStream();
    const seen: string[] = [];
    const unsubscribe = stream.subscribe((event) => seen.push(event.type));
    const collected = (async () => {
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      return types;
    })();
    await Promise.resolve();
    stream.emit({ type: "log", message: "one" });
    stream.emit({ type: "worker-lost", workerId: "w0", reason: "gone" });
    stream.emit({ type: "run-end", status: "finished", runDir: "/r", message: null, resumable: false });
    unsubscribe();
    stream.emit({ type: "log", message: "after" });
    expect(await collected).toEqual(["log", "worker-lost", "run-end"]);
    expect(seen).toEqual(["log", "worker-lost", "run-end"]);
  });
});
