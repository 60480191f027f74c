/**
 * `amlfs inspect-space` as a user runs it: a real process, the repository's .venv Python
 * through pythonia. On CASIA-WebFace's 10,575 classes at s = 30 from the CosFace point,
 * every sample of the paper's literal space starts with < 1 % of mu_0's gradient (its
 * b_tau[0] flattens or floors the first interval of tau, where every p lies), and none of
 * the anchored and power spaces does. The samples are the run's: the first K of the B = 32 the policy
 * draws for epoch 0. Errors: an invalid config as `amlfs validate` reports it, bad flags
 * named, both before Python starts.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { createPolicy, planEpoch } from "../../src/search/index.js";
import { SKIP_REASON } from "../integration/python-env.js";
import { ROOT, amlfs, writeConfig } from "./cli-process.js";
import { scaled } from "../helpers/load.js";

const CASIA = join(ROOT, "configs/face/amlfs-cosface-init-casia.json");
const MARKET = join(ROOT, "configs/reid/spherereid-market1501.json");
const K = 8;
const M = 6;

interface Sample { theta: number[]; lossTheta: number[]; ratio: number; floored: number; dead: number }
interface Form { summary: { samples: number; deadSamples: number; minRatio: number }; samples: Sample[]; mu: { lossTheta: number[] } }
interface Out { space: string; setting: { classes: number; scale: number; examples: number }; forms: Record<string, Form>; verdict: string }

async function run(argv: string[]) {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

describe.skipIf(SKIP_REASON !== null)(`amlfs inspect-space${SKIP_REASON === null ? "" : ` (skipped: ${SKIP_REASON})`}`, () => {
  let json: Awaited<ReturnType<typeof amlfs>>;
  let text: Awaited<ReturnType<typeof amlfs>>;
  beforeAll(async () => {
    // Both import torch: started together, each takes seconds on a loaded machine.
    [json, text] = await Promise.all([
      amlfs(["inspect-space", CASIA, "--samples", String(K), "--examples", "32", "--json"], { AMLFS_PYTHON: "" }),
      amlfs(["inspect-space", MARKET, "--samples", "4", "--examples", "16", "--classes", "100"], { AMLFS_PYTHON: "" }),
    ]);
  }, scaled(120_000));

  it("finds every paper sample dead and no anchored or power one on CASIA (10,575 classes, s = 30, CosFace mu_0)", () => {
    expect(json.exitCode, json.all).toBe(0);
    const out = JSON.parse(json.stdout) as Out;
    expect(out.space).toBe("power");
    expect(out.setting).toMatchObject({ classes: 10_575, scale: 30, examples: 32 });
    const { anchored, paper } = out.forms as { anchored: Form; paper: Form };
    expect(paper.summary).toMatchObject({ samples: K, deadSamples: K });
    expect(anchored.summary).toMatchObject({ samples: K, deadSamples: 0 });
    for (const sample of paper.samples) expect(sample.ratio).toBeLessThan(0.01);
    for (const sample of anchored.samples) {
      expect(sample.ratio).toBeGreaterThan(0.01);
      expect(sample.floored).toBe(0);
    }
    const power = out.forms.power as Form & { tauForm: string };
    expect(power.tauForm).toBe("power");
    expect(power.summary).toMatchObject({ samples: K, deadSamples: 0 }); // c = |a_tau| on every interval
    expect(out.verdict).toMatch(/^verdict: 0\/8 of the samples start dead under "power" \(this config\), 0\/8 under "anchored", 8\/8 under "paper": /);
  });

  it("inspects the run's own first draws, mapped as the workers train them", () => {
    const out = JSON.parse(json.stdout) as Out;
    const run = (space: "anchored" | "paper") =>
      planEpoch(createPolicy({ mode: "amlfs", M, B: 32, sigmaStd: 0.2, lr: 0.05, seed: 0, init: { kind: "cosineMargin", margin: 0.4 }, space }), 0);
    const { anchored, paper } = out.forms as { anchored: Form; paper: Form };
    expect(paper.samples.map((s) => s.theta)).toEqual(run("paper").slice(0, K));
    expect(anchored.samples.map((s) => s.theta)).toEqual(run("anchored").slice(0, K));
    paper.samples.forEach((s) => expect(s.lossTheta).toEqual(s.theta));
    anchored.samples.forEach((s) => {
      expect(s.lossTheta[3 * M]).toBe(0); // tau(0) = 0
      s.lossTheta.forEach((value, d) => expect(value).toBe(d === 3 * M ? 0 : d < M || (d >= 2 * M && d < 3 * M) ? Math.abs(s.theta[d] as number) : s.theta[d]));
    });
    const cosface = [...Array(M).fill(1), ...Array(M).fill(-0.4), ...Array(M).fill(1), ...Array(M).fill(0)];
    expect(anchored.mu.lossTheta).toEqual(cosface);
    expect(paper.mu.lossTheta).toEqual(cosface);
  });

  it("prints a row per form and the verdict", () => {
    expect(text.exitCode, text.all).toBe(0);
    expect(text.stdout).toMatch(/setting {3}100 classes \(--classes\), s = 14 \(spherereid\)/);
    expect(text.stdout).toMatch(/\n\| power \(config\) \| \d\/4 \(\d+ %\) +\|/);
    expect(text.stdout).toMatch(/\n\| paper +\| \d\/4 \(\d+ %\) +\|/);
    expect(text.stdout).toMatch(/\n\| anchored +\| \d\/4 \(\d+ %\) +\|/);
    expect(text.stdout).toMatch(/\nverdict: \d\/4 of the samples start dead under "power" \(this config\), \d\/4 under "anchored", \d\/4 under "paper"/);
  });
});

describe("amlfs inspect-space errors (before Python starts)", () => {
  it("reports an invalid config as validate does", async () => {
    const config = writeConfig({ search: { B: 3, epochs: 0, M: 2, space: "literal" } });
    const inspected = await run(["inspect-space", config, "--samples", "2"]);
    const validated = await run(["validate", config]);
    expect(inspected.code).toBe(2);
    expect(inspected.err).toBe(validated.err);
    expect(inspected.err).toMatch(/search\.space: expected one of .*, got "literal"/);
  });

  it("names a bad flag, and a bad --cosines file with its field", async () => {
    const config = writeConfig();
    for (const [flag, value, message] of [
      ["--samples", "0", /--samples: expected an integer in \[1, 10000\], got "0"/],
      ["--classes", "1", /--classes: expected an integer >= 2, got "1"/],
      ["--scale", "big", /--scale: expected a number > 0 or "linear", got "big"/],
      ["--examples", "1.5", /--examples: expected an integer >= 1, got "1.5"/],
    ] as const) {
      const result = await run(["inspect-space", config, flag, value]);
      expect(result.code).toBe(2);
      expect(result.err).toMatch(message);
    }
    const cosines = config.replace(/config\.json$/, "cosines.json");
    writeFileSync(cosines, JSON.stringify({ cosine: [[0.1, 0.2], [0.3, 0.4]], target: [0, 2], scale: 30 }));
    const bad = await run(["inspect-space", config, "--cosines", cosines]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`--cosines: ${cosines}: field \`target.1\`: expected a class index in [0, 2), got 2`);
    const both = await run(["inspect-space", config, "--cosines", cosines, "--classes", "3"]);
    expect(both.err).toMatch(/--classes: cannot be combined with --cosines/);
  });
});
