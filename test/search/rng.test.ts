import { describe, expect, it } from "vitest";
import { Rng } from "../../src/search/rng.js";
import { expectClose, expectThrowsNaming } from "../helpers/close.js";
import { invalidCases, readVectors, validCases, type VectorCase } from "../helpers/vectors.js";

interface RngCase extends VectorCase {
  seed: number;
  stream: number;
  uint32?: number[];
  uniform?: number[];
  normal?: number[];
}

const vectors = readVectors<RngCase>("policy/rng.json");

function draw(count: number, next: () => number): number[] {
  return Array.from({ length: count }, next);
}

describe("policy/rng.json vectors", () => {
  it.each(validCases(vectors).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const ints = Rng.create(c.seed, c.stream);
    expect(draw(c.uint32!.length, () => ints.nextUint32())).toEqual(c.uint32);
    const uniforms = Rng.create(c.seed, c.stream);
    expectClose(draw(c.uniform!.length, () => uniforms.uniform()), c.uniform, { rel: 0, abs: 0 }, "uniform");
    const normals = Rng.create(c.seed, c.stream);
    expectClose(draw(c.normal!.length, () => normals.normal()), c.normal, { rel: 1e-13, abs: 1e-15 }, "normal");
  });

  it.each(invalidCases(vectors).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expectThrowsNaming(() => Rng.create(c.seed, c.stream), c.error!.field);
  });
});

/** Independent reference: xoshiro128** and SplitMix64 written over BigInt words. */
function referenceOutputs(seed: number, stream: number, count: number): number[] {
  const mask64 = (1n << 64n) - 1n;
  const mask32 = 0xffffffffn;
  let sm = (BigInt(seed) * 2n ** 32n + BigInt(stream)) & mask64;
  const splitmix = (): bigint => {
    sm = (sm + 0x9e3779b97f4a7c15n) & mask64;
    let z = sm;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask64;
    return z ^ (z >> 31n);
  };
  const z0 = splitmix();
  const z1 = splitmix();
  const s = [z0 & mask32, z0 >> 32n, z1 & mask32, z1 >> 32n];
  const rotl = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & mask32;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const [s0, s1, s2, s3] = s as [bigint, bigint, bigint, bigint];
    out.push(Number((rotl((s1 * 5n) & mask32, 7n) * 9n) & mask32));
    const t = (s1 << 9n) & mask32;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11n);
  }
  return out;
}

describe("Rng", () => {
  it("matches a BigInt re-implementation, including the largest seed and stream", () => {
    for (const [seed, stream] of [
      [0, 0],
      [42, 7],
      [0xffffffff, 0xffffffff],
    ] as const) {
      const rng = Rng.create(seed, stream);
      expect(draw(64, () => rng.nextUint32())).toEqual(referenceOutputs(seed, stream, 64));
    }
  });

  it("is deterministic per (seed, stream) and differs between streams and seeds", () => {
    const a = Rng.create(5, 0);
    const b = Rng.create(5, 0);
    expect(draw(8, () => a.nextUint32())).toEqual(draw(8, () => b.nextUint32()));
    const first = draw(8, () => Rng.create(5, 0).nextUint32());
    expect(draw(8, () => Rng.create(5, 1).nextUint32())).not.toEqual(first);
    expect(draw(8, () => Rng.create(6, 0).nextUint32())).not.toEqual(first);
  });

  it("round-trips its state through JSON", () => {
    const rng = Rng.create(123, 4);
    draw(10, () => rng.normal());
    const resumed = Rng.fromState(JSON.parse(JSON.stringify(rng.state())) as number[]);
    expect(draw(20, () => resumed.uniform())).toEqual(draw(20, () => rng.uniform()));
  });

  it("rejects bad states", () => {
    expectThrowsNaming(() => Rng.fromState([0, 0, 0, 0]), "state");
    expectThrowsNaming(() => Rng.fromState([1, 2, 3]), "state");
    expectThrowsNaming(() => Rng.fromState([1, 2, 3, -4]), "state[3]");
  });

  it("draws uniforms in [0, 1) with 53-bit resolution", () => {
    const rng = Rng.create(9, 9);
    for (const u of draw(10_000, () => rng.uniform())) {
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      expect(Number.isInteger(u * 2 ** 53)).toBe(true);
    }
  });

  it("draws normals with mean 0 and standard deviation 1", () => {
    const rng = Rng.create(2019, 0);
    const n = 100_000;
    const values = draw(n, () => rng.normal());
    const mean = values.reduce((sum, v) => sum + v, 0) / n;
    const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / n;
    // Standard errors: 1/sqrt(n) = 0.0032 for the mean, about 0.0022 for the std.
    expect(Math.abs(mean)).toBeLessThan(0.015);
    expect(Math.abs(Math.sqrt(variance) - 1)).toBeLessThan(0.01);
    const tail = values.filter((v) => Math.abs(v) > 1.959964).length / n;
    expect(Math.abs(tail - 0.05)).toBeLessThan(0.005);
  });
});
