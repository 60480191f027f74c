import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/schema/errors.js";
import { parseExperiment } from "../../src/schema/parse.js";

const minimal = {
  name: "cifar",
  baseline: { name: "resnet20" },
  dataset: { kind: "cifar10-bin", root: "/data/cifar" },
  search: { epochs: 2 },
  reward: { metric: "top1" },
};

function problems(input: unknown, source = "exp.json"): string[] {
  try {
    parseExperiment(input, source);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    const lines = configError.message.split("\n");
    expect(lines[0]).toBe(`invalid experiment config (${configError.problems.length === 1 ? "1 problem" : `${configError.problems.length} problems`}):`);
    expect(configError.cause).toBeDefined();
    return lines.slice(1).map((line) => line.trim());
  }
  throw new Error("expected parseExperiment to throw");
}

const withSearch = (search: object) => ({ ...minimal, search: { epochs: 2, ...search } });
const withWorkers = (workers: object) => ({ ...minimal, workers });

describe("parseExperiment messages: <source>: <path>: expected ..., got ...", () => {
  it.each([
    ["search.B zero", withSearch({ B: 0 }), "exp.json: search.B: expected an integer in [1, 4096], got 0"],
    ["search.B fraction", withSearch({ B: 2.5 }), "exp.json: search.B: expected an integer in [1, 4096], got 2.5"],
    ["search.B string", withSearch({ B: "32" }), 'exp.json: search.B: expected an integer in [1, 4096], got "32"'],
    ["search.M", withSearch({ M: 0 }), "exp.json: search.M: expected an integer in [1, 64], got 0"],
    ["search.sigmaStd", withSearch({ sigmaStd: 0 }), "exp.json: search.sigmaStd: expected a number > 0, got 0"],
    ["search.lr", withSearch({ lr: -0.1 }), "exp.json: search.lr: expected a number > 0, got -0.1"],
    ["search.mode", withSearch({ mode: "random" }), 'exp.json: search.mode: expected one of "amlfs", "fixed", "baseline", got "random"'],
    [
      "search.epochs missing",
      { ...minimal, search: {} },
      "exp.json: search.epochs: expected an integer in [1, 100000], got nothing (the field is missing)",
    ],
    [
      "search.init.kind",
      withSearch({ init: { kind: "arcface" } }),
      'exp.json: search.init.kind: expected one of "identity", "cosineMargin", "theta", got "arcface"',
    ],
    [
      "search.init.margin",
      withSearch({ init: { kind: "cosineMargin" } }),
      "exp.json: search.init.margin: expected a number, got nothing (the field is missing)",
    ],
    ["seed", { ...minimal, seed: 2 ** 32 }, "exp.json: seed: expected an integer in [0, 4294967295], got 4294967296"],
    ["name", { ...minimal, name: "My Run" }, 'exp.json: name: expected a slug of lowercase letters, digits, "-" and "_" (like "resnet20-noise20"), at most 64 characters, got "My Run"'],
    [
      "baseline.name",
      { ...minimal, baseline: { name: "arcface" } },
      'exp.json: baseline.name: expected one of "cosface", "cosine-mlp", "mgn", "resnet20", "sft", "small-cnn", "spherereid", "upstream", or set workers.command to run your own worker, got "arcface"',
    ],
    [
      "baseline.name misspelt",
      { ...minimal, baseline: { name: "resnet-20" } },
      'exp.json: baseline.name: expected one of "cosface", "cosine-mlp", "mgn", "resnet20", "sft", "small-cnn", "spherereid", "upstream" (did you mean "resnet20"?), or set workers.command to run your own worker, got "resnet-20"',
    ],
    [
      "dataset.splits.valFraction",
      { ...minimal, dataset: { ...minimal.dataset, splits: { valFraction: 1 } } },
      "exp.json: dataset.splits.valFraction: expected a number in (0, 1), got 1",
    ],
    [
      "dataset.labelNoise.ratio",
      { ...minimal, dataset: { ...minimal.dataset, labelNoise: { ratio: 1 } } },
      "exp.json: dataset.labelNoise.ratio: expected a number in [0, 1), got 1",
    ],
    ["workers.count", withWorkers({ count: 0 }), "exp.json: workers.count: expected an integer in [1, 4096], got 0"],
    ["workers.launcher", withWorkers({ launcher: "ssh" }), 'exp.json: workers.launcher: expected one of "local", "torchrun", "slurm", got "ssh"'],
    [
      "workers.devices string",
      withWorkers({ devices: "gpu" }),
      'exp.json: workers.devices: expected one of "auto", "cpu" or an array of device names like ["cuda:0", "cuda:1"], got "gpu"',
    ],
    [
      "workers.devices entry",
      withWorkers({ devices: ["cuda:0", "gpu1"] }),
      'exp.json: workers.devices[1]: expected a device name like "cuda:0" or "cpu", got "gpu1"',
    ],
    ["workers.devices empty", withWorkers({ devices: [] }), "exp.json: workers.devices: expected at least one device, got an array of 0 items"],
    ["workers.heartbeatTimeoutMs", withWorkers({ heartbeatTimeoutMs: 0.5 }), "exp.json: workers.heartbeatTimeoutMs: expected an integer in [1, 86400000], got 0.5"],
    ["output.dir", { ...minimal, output: { dir: "" } }, 'exp.json: output.dir: expected a non-empty path, got ""'],
    ["reward missing", { ...minimal, reward: undefined }, "exp.json: reward: expected an object, got nothing (the field is missing)"],
    ["not an object", [], "exp.json: (top level): expected an object, got an array of 0 items"],
  ])("%s", (_name, input, line) => {
    expect(problems(input)).toContain(line);
  });

  it("names an unknown key and suggests the intended one", () => {
    expect(problems(withSearch({ sigmastd: 0.1 }))).toEqual([
      'exp.json: search: unknown key "sigmastd" (did you mean "sigmaStd"?); expected only mode, B, M, sigmaStd, lr, epochs, init, space, tScaleGrad',
    ]);
    expect(problems({ ...minimal, extra: true })[0]).toContain('(top level): unknown key "extra"');
    expect(problems({ ...minimal, baseline: { name: "resnet20", option: {} } })[0]).toContain(
      'baseline: unknown key "option" (did you mean "options"?)',
    );
  });

  it("reports cross-field rules at the path they concern", () => {
    expect(problems(withSearch({ mode: "baseline", B: 4 }))).toEqual([
      "exp.json: search.B: expected 1 (or no value) in baseline mode, which trains a single theta per epoch, got 4",
    ]);
    expect(problems({ ...withSearch({ B: 4 }), workers: { count: 8 } })).toEqual([
      "exp.json: workers.count: expected at most search.B = 4 (each worker runs one sample at a time), got 8",
    ]);
    expect(problems({ ...withSearch({ mode: "baseline" }), workers: { count: 2 } })).toEqual([
      "exp.json: workers.count: expected at most search.B = 1 (each worker runs one sample at a time), got 2",
    ]);
    expect(problems(withSearch({ M: 2, init: { kind: "theta", theta: [1, 0, 1, 0] } }))).toEqual([
      "exp.json: search.init.theta: expected 4 * search.M = 8 numbers, got an array of 4 items",
    ]);
    expect(problems({ ...minimal, baseline: { name: "sft" }, dataset: { kind: "market1501" }, reward: { metric: "top1" } })).toEqual([
      'exp.json: dataset.root: expected the directory of the market1501 dataset (only "digits" and "synthetic-classes" are built in), got ""',
      'exp.json: reward.metric: expected "mAP" or "rank1" for dataset market1501, got "top1"',
    ]);
    expect(problems({ ...minimal, baseline: { name: "cosine-mlp" }, dataset: { kind: "synthetic-classes", root: "/data/x" } })).toEqual([
      'exp.json: dataset.root: expected "" (or no value): synthetic-classes is built in and reads nothing from disk, got "/data/x"',
    ]);
  });

  it("reports a bad field once, not again through a rule that depends on it", () => {
    expect(problems({ ...withSearch({ B: 0 }), workers: { count: 3 } })).toEqual([
      "exp.json: search.B: expected an integer in [1, 4096], got 0",
    ]);
  });

  it("lists every problem, in one error", () => {
    const lines = problems({ ...minimal, seed: -1, search: { B: 0, epochs: 0 }, output: { dir: "" } }, "runs/x.yaml");
    expect(lines).toEqual([
      "runs/x.yaml: seed: expected an integer in [0, 4294967295], got -1",
      "runs/x.yaml: search.B: expected an integer in [1, 4096], got 0",
      "runs/x.yaml: search.epochs: expected an integer in [1, 100000], got 0",
      'runs/x.yaml: output.dir: expected a non-empty path, got ""',
    ]);
  });

  it("exposes the problems as data and uses a default source", () => {
    try {
      parseExperiment(withSearch({ B: 0 }));
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([{ path: "search.B", message: "expected an integer in [1, 4096], got 0" }]);
      expect((error as ConfigError).source).toBe("config");
      expect((error as Error).message).toContain("config: search.B: expected an integer in [1, 4096], got 0");
    }
  });
});

describe("bounded sizes", () => {
  it("refuses a B, M or worker count that would exhaust the controller, naming the field", () => {
    expect(problems(withSearch({ B: 100_000_000 }))).toEqual([
      "exp.json: search.B: expected an integer in [1, 4096], got 100000000",
    ]);
    expect(problems(withSearch({ M: 1_000_000 }))[0]).toBe("exp.json: search.M: expected an integer in [1, 64], got 1000000");
    expect(parseExperiment(withSearch({ B: 4096 })).search.B).toBe(4096);
  });
});

describe("label noise", () => {
  it("is refused, naming the field, on a dataset whose labels it cannot corrupt", () => {
    const reid = {
      ...minimal,
      baseline: { name: "sft" },
      dataset: { kind: "market1501", root: "/data/market", labelNoise: { ratio: 0.2 } },
      reward: { metric: "mAP" },
    };
    expect(problems(reid)).toEqual([
      "exp.json: dataset.labelNoise: expected no labelNoise for market1501: label noise applies to the classification datasets (cifar10-bin, digits, synthetic-classes), got an object",
    ]);
    const digits = { ...minimal, baseline: { name: "small-cnn" }, dataset: { kind: "digits", labelNoise: { ratio: 0.2 } } };
    expect(parseExperiment(digits).dataset.labelNoise).toEqual({ ratio: 0.2, seed: 0 });
  });
});
