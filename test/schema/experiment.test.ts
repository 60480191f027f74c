import { describe, expect, it } from "vitest";
import { parseExperiment, parseFrozenExperiment } from "../../src/schema/parse.js";
import type { Experiment } from "../../src/schema/experiment.js";

const minimal = {
  name: "digits-smoke",
  baseline: { name: "small-cnn" },
  dataset: { kind: "digits" },
  search: { epochs: 2 },
  reward: { metric: "top1" },
};

/** A SphereReID run on Market-1501 as a user would write it, every section present. */
const full = {
  name: "spherereid-market",
  seed: 2019,
  baseline: { name: "spherereid", options: { scale: 14, pretrainedPath: "/models/resnet50.pth" } },
  dataset: {
    kind: "market1501",
    root: "/data/Market-1501-v15.09.15",
    splits: { valFraction: 0.05, splitSeed: 1 },
  },
  search: {
    mode: "amlfs",
    B: 32,
    M: 6,
    sigmaStd: 0.2,
    lr: 0.05,
    epochs: 120,
    init: { kind: "cosineMargin", margin: 0.1 },
    space: "paper",
    tScaleGrad: "full",
  },
  workers: {
    count: 4,
    launcher: "torchrun",
    devices: ["cuda:0", "cuda:1", "cuda:2", "cuda:3"],
    threadsPerWorker: 4,
    heartbeatTimeoutMs: 60_000,
  },
  reward: { metric: "mAP" },
  output: { dir: "/scratch/runs" },
};

describe("experiment schema", () => {
  it("fills every default in a minimal config", () => {
    const expected: Experiment = {
      name: "digits-smoke",
      seed: 0,
      baseline: { name: "small-cnn", options: {} },
      dataset: { kind: "digits", root: "", splits: { valFraction: 0.1, splitSeed: 0 } },
      search: { mode: "amlfs", B: 32, M: 6, sigmaStd: 0.2, lr: 0.05, epochs: 2, init: { kind: "identity" }, space: "power", tScaleGrad: "plain" },
      workers: { count: 1, launcher: "local", devices: "auto", heartbeatTimeoutMs: 30_000 },
      reward: { metric: "top1" },
      output: { dir: "runs" },
    };
    expect(parseExperiment(minimal)).toEqual(expected);
  });

  it("parses a realistic full config unchanged", () => {
    expect(parseExperiment(full)).toEqual(full);
  });

  it("defaults B to 1 in baseline mode and accepts an explicit 1", () => {
    const baseline = { ...minimal, search: { mode: "baseline", epochs: 2 } };
    expect(parseExperiment(baseline).search.B).toBe(1);
    expect(parseExperiment({ ...baseline, search: { ...baseline.search, B: 1 } }).search.B).toBe(1);
  });

  it("accepts label noise, an explicit theta of length 4M and a fixed-distribution run", () => {
    const config = parseExperiment({
      ...minimal,
      baseline: { name: "resnet20" },
      dataset: { kind: "cifar10-bin", root: "/data/cifar-10-batches-bin", labelNoise: { ratio: 0.2 } },
      search: { mode: "fixed", M: 1, B: 8, epochs: 3, init: { kind: "theta", theta: [1, 0, 1, 0] } },
    });
    expect(config.dataset.labelNoise).toEqual({ ratio: 0.2, seed: 0 });
    expect(config.search.init).toEqual({ kind: "theta", theta: [1, 0, 1, 0] });
  });

  it("does not modify its input", () => {
    const input = structuredClone(minimal);
    parseExperiment(input);
    expect(input).toEqual(minimal);
  });
});

describe("parseFrozenExperiment", () => {
  it("reads a run frozen before search.space existed as the paper's loss, and a newer one as written", () => {
    const frozenBefore = { ...minimal, search: { epochs: 2 } };
    expect(parseFrozenExperiment(frozenBefore).search).toMatchObject({ space: "paper", tScaleGrad: "full" });
    expect(parseExperiment(frozenBefore).search).toMatchObject({ space: "power", tScaleGrad: "plain" });
    const frozenNow = parseExperiment(frozenBefore);
    expect(parseFrozenExperiment(JSON.parse(JSON.stringify(frozenNow)))).toEqual(frozenNow);
  });
});
