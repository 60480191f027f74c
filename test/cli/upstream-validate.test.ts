/**
 * `amlfs validate` on baseline-`upstream` configs: the adapter and checkout are named, the
 * dataset and metric are the adapter's, and the checkout holds the adapter's files at the tested
 * commit (else a warning naming both). Commits are compared with what git itself reports.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { checkoutCommit } from "../../src/cli/upstream-checkout.js";
import { CATALOG } from "../../src/schema/catalog.js";

const temp = (): string => mkdtempSync(join(tmpdir(), "amlfs-upstream-"));
const UPSTREAM_DIR = process.env.AMLFS_UPSTREAM_DIR ?? resolve(__dirname, "../../../shared/upstream");

const DATA: Record<string, { kind: string; metric: string; layout: string[] }> = {
  "spherereid-coincheung": { kind: "market1501", metric: "mAP", layout: ["bounding_box_train", "query", "bounding_box_test"] },
  "mgn-seathiefwang": { kind: "market1501", metric: "rank1", layout: ["bounding_box_train", "query", "bounding_box_test"] },
  "cosface-mugglewang": { kind: "casia-webface", metric: "verificationAccuracy", layout: ["CASIA-WebFace", "lfw", "pairs.txt"] },
};

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

function write(config: unknown): string {
  const path = join(temp(), "config.json");
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** A folder with the adapter's files (empty: validate reads names only) and, unless null, a COMMIT file. */
function fakeCheckout(adapter: string, commit: string | null): string {
  const root = temp();
  for (const file of CATALOG.upstreamAdapters[adapter]?.files ?? []) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), "");
  }
  if (commit !== null) writeFileSync(join(root, "COMMIT"), `${commit}\n`);
  return root;
}

function dataRoot(adapter: string): string {
  const root = temp();
  for (const name of DATA[adapter]?.layout ?? []) {
    if (name.endsWith(".txt")) writeFileSync(join(root, name), "");
    else mkdirSync(join(root, name), { recursive: true });
  }
  return root;
}

function config(adapter: string, options: Record<string, unknown>, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const data = DATA[adapter] as { kind: string; metric: string };
  return {
    name: "upstream",
    baseline: { name: "upstream", options: { adapter, ...options } },
    dataset: { kind: data.kind, root: dataRoot(adapter) },
    search: { epochs: 1, B: 2 },
    reward: { metric: data.metric },
    ...fields,
  };
}

const git = (cwd: string, ...args: string[]): string =>
  execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd, encoding: "utf8" }).trim();

describe("amlfs validate: baseline upstream", () => {
  it.each(Object.keys(DATA))("accepts %s with a checkout at the tested commit, silently", async (adapter) => {
    const tested = CATALOG.upstreamAdapters[adapter]?.testedCommit as string;
    const result = await run(["validate", write(config(adapter, { repo: fakeCheckout(adapter, tested) }))]);
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out).baseline.options.adapter).toBe(adapter);
  });

  it("warns, naming both commits, when the checkout is at another commit, and still accepts it", async () => {
    const other = "0123456789abcdef0123456789abcdef01234567";
    const result = await run(["validate", write(config("spherereid-coincheung", { repo: fakeCheckout("spherereid-coincheung", other) }))]);
    expect(result.code).toBe(0);
    expect(result.err).toContain(`warning: CoinCheung/SphereReID:`);
    expect(result.err).toContain(`is at commit ${other}; the adapter was tested at e02c7b93bf8098ab0d73f3e6ec22723689344ac4`);
  });

  it("refuses a config without an adapter or without a checkout, naming the field", async () => {
    const noAdapter = config("spherereid-coincheung", { repo: fakeCheckout("spherereid-coincheung", null) });
    delete (noAdapter.baseline as { options: Record<string, unknown> }).options.adapter;
    const missingAdapter = await run(["validate", write(noAdapter)]);
    expect(missingAdapter.code).toBe(2);
    expect(missingAdapter.err).toContain(
      'baseline.options.adapter: expected the adapter over the authors\' code to run: one of "cosface-mugglewang", "mgn-seathiefwang", "spherereid-coincheung"',
    );
    const missingRepo = await run(["validate", write(config("cosface-mugglewang", {}))]);
    expect(missingRepo.code).toBe(2);
    expect(missingRepo.err).toContain("baseline.options.repo: expected the folder of your checkout of MuggleWang/CosFace_pytorch (https://github.com/MuggleWang/CosFace_pytorch, tested at 81de0a95b996)");
    const misspelt = await run(["validate", write(config("cosface-mugglewang", { adaptr: "x", repo: "." }))]);
    expect(misspelt.code).toBe(2);
    expect(misspelt.err).toContain('unknown option "adaptr" of baseline upstream (did you mean "adapter"?)');
  });

  it("refuses a dataset or metric the adapter does not offer", async () => {
    const repo = fakeCheckout("cosface-mugglewang", null);
    const wrongData = config("cosface-mugglewang", { repo }, { dataset: { kind: "market1501", root: dataRoot("spherereid-coincheung") }, reward: { metric: "mAP" } });
    const result = await run(["validate", write(wrongData)]);
    expect(result.code).toBe(2);
    expect(result.err).toContain("dataset.kind: expected a dataset that adapter cosface-mugglewang runs on (casia-webface)");
  });

  it("refuses a checkout that is not a folder or lacks the adapter's files, before any worker, naming them", async () => {
    const notThere = join(temp(), "SphereReID");
    const missing = await run(["validate", write(config("spherereid-coincheung", { repo: notThere }))]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`baseline.options.repo: expected a checkout of CoinCheung/SphereReID (https://github.com/CoinCheung/SphereReID): ${notThere} is not a folder`);
    const partial = fakeCheckout("spherereid-coincheung", null);
    const stripped = temp();
    writeFileSync(join(stripped, "train.py"), "");
    const lacking = await run(["validate", write(config("spherereid-coincheung", { repo: stripped }))]);
    expect(lacking.code).toBe(2);
    expect(lacking.err).toContain(`${stripped} has no backbone.py, sphere_loss.py, market1501.py, balanced_sampler.py, random_erasing.py, evaluate.py`);
    const unknownCommit = await run(["validate", write(config("spherereid-coincheung", { repo: partial }))]);
    expect(unknownCommit.code).toBe(0);
    expect(unknownCommit.err).toContain("cannot tell which commit");
    const skipped = await run(["validate", write(config("spherereid-coincheung", { repo: notThere })), "--no-data-check"]);
    expect(skipped.code).toBe(0);
  });

  it.skipIf(!existsSync(UPSTREAM_DIR))("accepts the snapshots of the upstream code as they are", async () => {
    for (const [adapter, folder] of [["spherereid-coincheung", "CoinCheung-SphereReID"], ["cosface-mugglewang", "MuggleWang-CosFace_pytorch"]] as const) {
      const result = await run(["validate", write(config(adapter, { repo: join(UPSTREAM_DIR, folder) }))]);
      expect(result.err).toBe("");
      expect(result.code).toBe(0);
    }
  });
});

describe("checkoutCommit", () => {
  it("reads what git rev-parse HEAD says: a branch (loose, then packed), a detached HEAD, a worktree", () => {
    const root = temp();
    git(root, "init", "-q", "-b", "main");
    writeFileSync(join(root, "a.py"), "x = 1\n");
    git(root, "add", "a.py");
    git(root, "commit", "-qm", "one");
    expect(checkoutCommit(root)).toBe(git(root, "rev-parse", "HEAD"));
    git(root, "pack-refs", "--all");
    expect(checkoutCommit(root)).toBe(git(root, "rev-parse", "HEAD"));
    writeFileSync(join(root, "a.py"), "x = 2\n");
    git(root, "commit", "-qam", "two");
    const second = git(root, "rev-parse", "HEAD");
    expect(checkoutCommit(root)).toBe(second);
    git(root, "checkout", "-q", "--detach", "HEAD~1");
    expect(checkoutCommit(root)).toBe(git(root, "rev-parse", "HEAD"));
    const tree = join(temp(), "wt");
    git(root, "worktree", "add", "-q", tree, "main");
    expect(checkoutCommit(tree)).toBe(second);
  });

  it("reads a snapshot's COMMIT file, and gives null where nothing says", () => {
    expect(checkoutCommit(fakeCheckout("spherereid-coincheung", "abc123"))).toBe("abc123");
    expect(checkoutCommit(temp())).toBeNull();
  });
});
