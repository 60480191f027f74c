import { describe, expect, it } from "vitest";
import { CATALOG, OPTION_KINDS } from "../../src/schema/catalog.js";
import { ConfigError } from "../../src/schema/errors.js";
import { closestName, optionAccepts } from "../../src/schema/options.js";
import { parseExperiment } from "../../src/schema/parse.js";
import { readVectors, type VectorCase } from "../helpers/vectors.js";

interface OptionCase extends VectorCase {
  kind: (typeof OPTION_KINDS)[number];
  value: unknown;
  choices?: (string | number)[];
}

const market = {
  name: "sft-market",
  baseline: { name: "sft" },
  dataset: { kind: "market1501", root: "/data/market" },
  search: { epochs: 2 },
  reward: { metric: "mAP" },
};

function problems(input: unknown): string[] {
  try {
    parseExperiment(input, "exp.json");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.split("\n").slice(1).map((line) => line.trim());
  }
  throw new Error("expected parseExperiment to throw");
}

describe("option kinds agree with the Python checks (proto/vectors/options/kinds.json)", () => {
  const file = readVectors<OptionCase>("options/kinds.json");

  it("covers every kind", () => {
    expect(new Set(file.cases.map((c) => c.kind))).toEqual(new Set(OPTION_KINDS));
  });

  it.each(file.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expect(optionAccepts({ kind: c.kind, choices: c.choices }, c.value)).toBe(c.valid);
  });
});

describe("baseline.options against the catalog's option table", () => {
  it("names an unknown option, suggests the intended one and lists the known ones", () => {
    const lines = problems({ ...market, baseline: { name: "sft", options: { widhtPx: 128 } } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^exp\.json: baseline\.options\.widhtPx: unknown option "widhtPx" of baseline sft \(did you mean "widthPx"\?\); expected one of /);
    expect(lines[0]).toContain("heightPx, k, lastStride,");
    expect(lines[0]).not.toContain("got");
  });

  it("gives the expected type and the value given", () => {
    expect(problems({ ...market, baseline: { name: "sft", options: { p: "16", lastStride: 3, milestoneEpochs: [70, 40] } } })).toEqual([
      'exp.json: baseline.options.p: expected a positive integer, got "16"',
      "exp.json: baseline.options.lastStride: expected one of 1, 2, got 3",
      "exp.json: baseline.options.milestoneEpochs: expected an increasing list of positive integers (epochs of a recipeEpochs-long run), got an array of 2 items",
    ]);
  });

  it("accepts every baseline's defaults given explicitly", () => {
    for (const [name, entry] of Object.entries(CATALOG.baselines)) {
      const kind = entry.datasets[0] as string;
      const builtIn = CATALOG.datasets[kind]?.builtIn === true;
      const defaults = Object.fromEntries(Object.entries(entry.options).map(([option, spec]) => [option, spec.default]));
      // `upstream` has no default adapter or checkout: a config names both.
      const options = name === "upstream" ? { ...defaults, ...upstreamFor(kind) } : defaults;
      const config = {
        name: "defaults",
        baseline: { name, options },
        dataset: { kind, ...(builtIn ? {} : { root: "/data/x" }) },
        search: { epochs: 1 },
        reward: { metric: entry.rewardMetric },
      };
      expect(parseExperiment(config).baseline.options, name).toEqual(options);
    }
  });

  it("leaves the name and the options to a config's own worker program", () => {
    const own = { ...market, baseline: { name: "my-net", options: { widht: "any" } }, workers: { command: ["python", "train.py"] } };
    expect(parseExperiment(own).baseline).toEqual({ name: "my-net", options: { widht: "any" } });
    expect(problems({ ...own, baseline: { name: "" } })).toEqual(['exp.json: baseline.name: expected a baseline name, got ""']);
  });
});

/** Options of a baseline-`upstream` config: the first adapter that runs on `kind`, and a checkout path. */
function upstreamFor(kind: string): { adapter: string; repo: string } {
  const adapter = Object.entries(CATALOG.upstreamAdapters).find(([, entry]) => entry.datasets.includes(kind));
  if (adapter === undefined) throw new Error(`no upstream adapter runs on ${kind}`);
  return { adapter: adapter[0], repo: "/src/checkout" };
}

describe("baseline and dataset", () => {
  it("refuses a baseline on a dataset it does not run on, naming both and the allowed ones", () => {
    expect(problems({ ...market, baseline: { name: "sft" }, dataset: { kind: "digits" }, reward: { metric: "top1" } })).toEqual([
      'exp.json: dataset.kind: expected a dataset that baseline sft runs on (market1501, dukemtmc-reid), got "digits"',
    ]);
  });

  it("accepts each baseline on each of its datasets", () => {
    for (const [name, entry] of Object.entries(CATALOG.baselines)) {
      for (const kind of entry.datasets) {
        const builtIn = CATALOG.datasets[kind]?.builtIn === true;
        const upstream = name === "upstream" ? upstreamFor(kind) : undefined;
        const options = upstream ?? {};
        const metric = upstream === undefined ? entry.rewardMetric : (CATALOG.upstreamAdapters[upstream.adapter]?.rewardMetrics[0] as string);
        const config = { ...market, baseline: { name, options }, dataset: { kind, ...(builtIn ? {} : { root: "/data/x" }) }, reward: { metric } };
        expect(parseExperiment(config).dataset.kind).toBe(kind);
      }
    }
  });
});

describe("bounded sizes", () => {
  it.each([
    ["search.epochs", { search: { epochs: 100_001 } }, "exp.json: search.epochs: expected an integer in [1, 100000], got 100001"],
    ["workers.threadsPerWorker", { workers: { threadsPerWorker: 5000 } }, "exp.json: workers.threadsPerWorker: expected an integer in [1, 1024], got 5000"],
    ["workers.heartbeatTimeoutMs", { workers: { heartbeatTimeoutMs: 2 ** 31 } }, "exp.json: workers.heartbeatTimeoutMs: expected an integer in [1, 86400000], got 2147483648"],
    ["workers.torchrun.procsPerWorker", { workers: { torchrun: { procsPerWorker: 65 } } }, "exp.json: workers.torchrun.procsPerWorker: expected an integer in [1, 64], got 65"],
    ["workers.slurm.gpusPerWorker", { workers: { slurm: { gpusPerWorker: 65 } } }, "exp.json: workers.slurm.gpusPerWorker: expected an integer in [0, 64], got 65"],
  ])("%s", (_name, fields, line) => {
    expect(problems({ ...market, ...fields })).toEqual([line]);
  });
});

describe("closestName", () => {
  it("finds a transposition, a case slip or a missing unit suffix, and nothing for a stranger", () => {
    const known = ["heightPx", "widthPx", "lr", "momentum"];
    expect(closestName("widhtPx", known)).toBe("widthPx");
    expect(closestName("LR", known)).toBe("lr");
    expect(closestName("width", known)).toBe("widthPx");
    expect(closestName("dropout", known)).toBeUndefined();
  });
});
