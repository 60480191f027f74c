/** `validate`, `search` and `resume` refuse a config whose data or baseline cannot run, before any run directory or worker exists. */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { datasetRootProblems } from "../../src/cli/preflight.js";
import { parseExperiment } from "../../src/schema/parse.js";

const temp = (): string => mkdtempSync(join(tmpdir(), "amlfs-preflight-"));

function market(root: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "preflight",
    baseline: { name: "sft" },
    dataset: { kind: "market1501", root },
    search: { epochs: 1, B: 2 },
    reward: { metric: "mAP" },
    ...fields,
  };
}

function write(config: unknown, text = JSON.stringify(config)): string {
  const path = join(temp(), "config.json");
  writeFileSync(path, text);
  return path;
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

/** The three Market-1501 split folders under `base` (empty: file names are not read). */
function marketLayout(base: string): string {
  for (const name of ["bounding_box_train", "query", "bounding_box_test"]) mkdirSync(join(base, name), { recursive: true });
  return base;
}

describe("amlfs validate: the dataset on disk", () => {
  it("refuses a dataset.root that does not exist, naming the field, the path and the fix", async () => {
    const missing = join(temp(), "no-such-dir");
    const result = await run(["validate", write(market(missing))]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`dataset.root: expected the layout Market-1501-v15.09.15/{bounding_box_train,query,bounding_box_test} for market1501: ${missing} does not exist`);
    expect(result.err).toContain("set `dataset.root` to the extracted Market-1501-v15.09.15 folder");
    expect(result.out).toBe("");
  });

  it("--no-data-check leaves the disk alone (data only the workers' nodes see) and still checks the fields", async () => {
    const missing = join(temp(), "no-such-dir");
    const skipped = await run(["validate", write(market(missing)), "--no-data-check"]);
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.out).dataset.root).toBe(missing);
    const misspelt = await run(["validate", write(market(missing, { baseline: { name: "sft", options: { widhtPx: 128 } } })), "--no-data-check"]);
    expect(misspelt.code).toBe(2);
    expect(misspelt.err).toContain("baseline.options.widhtPx");
  });

  it("refuses a pretrainedPath that does not exist, and accepts it once the file is there", async () => {
    const root = marketLayout(temp());
    const weights = join(temp(), "resnet50-imagenet.pth");
    const config = market(root, { baseline: { name: "sft", options: { pretrainedPath: weights } } });
    const missing = await run(["validate", write(config)]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`baseline.options.pretrainedPath: expected an existing path or null: ${weights} does not exist`);
    writeFileSync(weights, "");
    const present = await run(["validate", write(config)]);
    expect(present.err).toBe("");
    expect(present.code).toBe(0);
  });

  it("refuses a root that is a file", async () => {
    const file = join(temp(), "market.zip");
    writeFileSync(file, "");
    const result = await run(["validate", write(market(file))]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`${file} is not a directory`);
  });

  it("refuses a root with the wrong layout, naming what is missing", async () => {
    const root = temp();
    mkdirSync(join(root, "query"));
    const result = await run(["validate", write(market(root))]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`dataset.root: expected the layout Market-1501-v15.09.15/{bounding_box_train,query,bounding_box_test} for market1501: ${root} (nor its Market-1501-v15.09.15/ folder) has no bounding_box_train/, bounding_box_test/`);
  });

  it("accepts the extracted folder and its parent, as the reader does", async () => {
    const extracted = marketLayout(join(temp(), "Market-1501-v15.09.15"));
    expect((await run(["validate", write(market(extracted))])).code).toBe(0);
    const parent = join(extracted, "..");
    const result = await run(["validate", write(market(parent))]);
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out).dataset.root).toBe(parent);
  });

  it("checks CIFAR-10's batch files, in the folder or under cifar-10-batches-bin/", async () => {
    const parent = temp();
    const folder = join(parent, "cifar-10-batches-bin");
    mkdirSync(folder);
    for (const name of ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"]) writeFileSync(join(folder, name), "");
    const cifar = (root: string) => ({ ...market(root), baseline: { name: "resnet20" }, dataset: { kind: "cifar10-bin", root }, reward: { metric: "top1" } });
    const result = await run(["validate", write(cifar(parent))]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`${folder} has no test_batch.bin; set \`dataset.root\` to the extracted cifar-10-batches-bin folder (or its parent) of cifar-10-binary.tar.gz`);
    writeFileSync(join(folder, "test_batch.bin"), "");
    expect((await run(["validate", write(cifar(parent))])).code).toBe(0);
    expect((await run(["validate", write(cifar(folder))])).code).toBe(0);
  });

  it("checks the face layout, without the LFW side when baseline options name it elsewhere", () => {
    const root = temp();
    mkdirSync(join(root, "CASIA-WebFace"));
    mkdirSync(join(root, "lfw"));
    const face = (options: Record<string, unknown>) =>
      parseExperiment({ ...market(root), baseline: { name: "cosface", options }, dataset: { kind: "casia-webface", root }, reward: { metric: "verificationAccuracy" } });
    expect(datasetRootProblems(face({}), root)[0]?.message).toContain(`${root} has no any of pairs.txt, lfw-112x96/pairs.txt, lfw-112X96/pairs.txt, lfw/pairs.txt`);
    expect(datasetRootProblems(face({ pairsTxt: "/elsewhere/pairs.txt" }), root)).toEqual([]);
    writeFileSync(join(root, "lfw", "pairs.txt"), "");
    expect(datasetRootProblems(face({}), root)).toEqual([]);
  });

  it("resolves a relative root against the directory amlfs (and so each worker) runs in", () => {
    const cwd = temp();
    marketLayout(join(cwd, "data", "market"));
    const config = parseExperiment(market("data/market"));
    expect(datasetRootProblems(config, cwd)).toEqual([]);
    expect(datasetRootProblems(config, temp())[0]?.message).toMatch(/does not exist/);
    expect(datasetRootProblems(config, temp())[0]?.message).toContain('(resolved from "data/market" in ');
  });

  it("reads nothing for a built-in dataset", () => {
    expect(datasetRootProblems(parseExperiment({ ...market(""), baseline: { name: "small-cnn" }, dataset: { kind: "digits" }, reward: { metric: "top1" } }))).toEqual([]);
  });

  it("still checks the dataset of a config that runs its own worker program", async () => {
    const missing = join(temp(), "gone");
    const own = market(missing, { baseline: { name: "my-net", options: { anything: 1 } }, workers: { command: ["python", "train.py"] } });
    const result = await run(["validate", write(own)]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`dataset.root: expected the layout Market-1501-v15.09.15/`);
  });
});

describe("amlfs validate: baseline, options and JSON", () => {
  const root = marketLayout(join(temp(), "Market-1501-v15.09.15"));

  it("refuses a misspelt option, suggesting the real one", async () => {
    const result = await run(["validate", write(market(root, { baseline: { name: "sft", options: { widhtPx: 128 } } }))]);
    expect(result.code).toBe(2);
    expect(result.err).toContain('baseline.options.widhtPx: unknown option "widhtPx" of baseline sft (did you mean "widthPx"?); expected one of');
  });

  it("refuses an option of the wrong type, with the expected type and the value", async () => {
    const result = await run(["validate", write(market(root, { baseline: { name: "sft", options: { widthPx: "128" } } }))]);
    expect(result.code).toBe(2);
    expect(result.err).toContain('baseline.options.widthPx: expected a positive integer, got "128"');
  });

  it("refuses sft on digits", async () => {
    const result = await run(["validate", write({ ...market(""), dataset: { kind: "digits" }, reward: { metric: "top1" } })]);
    expect(result.code).toBe(2);
    expect(result.err).toContain('dataset.kind: expected a dataset that baseline sft runs on (market1501, dukemtmc-reid), got "digits"');
  });

  it("refuses label noise on market1501", async () => {
    const result = await run(["validate", write(market(root, { dataset: { kind: "market1501", root, labelNoise: { ratio: 0.2 } } }))]);
    expect(result.code).toBe(2);
    expect(result.err).toContain("dataset.labelNoise: expected no labelNoise for market1501");
  });

  it("gives the line and column of a JSON syntax error", async () => {
    const path = write(null, '{\n  "name": "x",\n  "seed": 1,\n}\n');
    const result = await run(["validate", path]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`${path}: (top level): expected JSON, got a syntax error at line 4, column 1 (near "}\\n")`);
  });
});

describe("search and resume: the preflight runs before the run directory exists", () => {
  it("search exits 2 on a missing dataset.root and creates nothing", async () => {
    const out = join(temp(), "run");
    const result = await run(["search", write(market(join(temp(), "gone"))), "--out", out]);
    expect(result.code).toBe(2);
    expect(result.err).toContain("dataset.root: expected the layout");
    expect(existsSync(out)).toBe(false);
  });

  it("search exits 2 on a misspelt option and creates nothing", async () => {
    const out = join(temp(), "run");
    const root = marketLayout(temp());
    const result = await run(["search", write(market(root, { baseline: { name: "sft", options: { widhtPx: 1 } } })), "--out", out]);
    expect(result.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it("resume exits 2 when the frozen config's dataset is gone, naming the run's config.json", async () => {
    const runDir = temp();
    const gone = join(temp(), "gone");
    writeFileSync(join(runDir, "config.json"), JSON.stringify(parseExperiment(market(gone)), null, 2));
    const result = await run(["resume", runDir]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`${runDir}/config.json: dataset.root: expected the layout`);
    expect(existsSync(join(runDir, "journal.jsonl"))).toBe(false);
  });
});
