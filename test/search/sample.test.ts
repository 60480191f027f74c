import { describe, expect, it } from "vitest";
import { sampleThetas } from "../../src/search/sample.js";
import { Rng } from "../../src/search/rng.js";
import { identity } from "../../src/search/space.js";
import { expectClose, expectThrowsNaming } from "../helpers/close.js";
import { invalidCases, readVectors, validCases, type VectorCase } from "../helpers/vectors.js";

interface SampleCase extends VectorCase {
  seed: number;
  epoch: number;
  mu: number[];
  sigmaStd: number;
  B: number;
  thetas?: number[][];
}

const vectors = readVectors<SampleCase>("policy/sample.json");

describe("policy/sample.json vectors", () => {
  it.each(validCases(vectors).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const { seed, epoch, mu, sigmaStd, B } = c;
    expectClose(sampleThetas({ seed, epoch, mu, sigmaStd, B }), c.thetas, { rel: 1e-12, abs: 1e-15 }, "thetas");
  });

  it.each(invalidCases(vectors).map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const { seed, epoch, mu, sigmaStd, B } = c;
    expectThrowsNaming(() => sampleThetas({ seed, epoch, mu, sigmaStd, B }), c.error!.field);
  });
});

describe("sampleThetas", () => {
  const mu = identity(2);

  it("draws k-major from the generator (seed, stream = epoch)", () => {
    const thetas = sampleThetas({ seed: 11, epoch: 3, mu, sigmaStd: 0.5, B: 3 });
    const rng = Rng.create(11, 3);
    const expected = [0, 1, 2].map(() => mu.map((center) => center + 0.5 * rng.normal()));
    expect(thetas).toEqual(expected);
  });

  it("gives the same samples for the same (seed, epoch), different ones across epochs", () => {
    const request = { seed: 4, epoch: 0, mu, sigmaStd: 0.2, B: 4 };
    expect(sampleThetas(request)).toEqual(sampleThetas({ ...request }));
    expect(sampleThetas({ ...request, epoch: 1 })).not.toEqual(sampleThetas(request));
  });

  it("rejects a bad epoch and a bad seed by name", () => {
    expectThrowsNaming(() => sampleThetas({ seed: 0, epoch: -1, mu, sigmaStd: 0.2, B: 1 }), "epoch");
    expectThrowsNaming(() => sampleThetas({ seed: 2 ** 32, epoch: 0, mu, sigmaStd: 0.2, B: 1 }), "seed");
    expectThrowsNaming(() => sampleThetas({ seed: 0, epoch: 0, mu, sigmaStd: 0.2, B: 1.5 }), "B");
  });
});
