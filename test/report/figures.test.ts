import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readRunOutcome } from "../../src/orchestrate/run-outcome.js";
import { displayPath, metricsTable, metricsTableHtml } from "../../src/report/metrics-table.js";
import { intervalLabel, muFigure } from "../../src/report/mu-figure.js";
import type { CurveAnswer, CurveRequest } from "../../src/report/python-curves.js";
import { deadFigure, deadSpread, hasLossStats } from "../../src/report/dead-figure.js";
import { rewardSpread, rewardsFigure } from "../../src/report/rewards-figure.js";
import { median, readReportRun } from "../../src/report/run-data.js";
import { ReportError, curveRequest, referenceMargin, writeReport } from "../../src/report/index.js";
import { M, syntheticLossStats, writeSyntheticRun } from "./synthetic-run.js";

/** Curves of t(x) = x, tau(p) = p, gradient 1 - x for any theta: the structure, not the numbers. */
async function stubCurves(request: CurveRequest): Promise<CurveAnswer> {
  const grid = [0, 0.5, 1];
  const one = { x: grid, t: grid, p: grid, tau: grid, tauRaw: grid, tauFloored: [false, false, false], logit: grid, gradMagnitude: grid.map((v) => 1 - v), targetProbability: grid };
  return {
    setting: { M: request.M, gridPoints: 3, numClasses: 10, scale: 10 },
    curves: Object.fromEntries(Object.keys(request.thetas).map((name) => [name, one])),
  };
}

describe("run data", () => {
  it("reads mu_0 .. mu_E from the journal", async () => {
    const run = writeSyntheticRun({ epochs: 3 });
    const data = await readReportRun(run.path);
    expect(data.M).toBe(M);
    expect(data.muSeries).toEqual(run.mu);
    expect(data.muUpdated).toBe(true);
  });

  it("says that mu is not updated in baseline mode", async () => {
    const data = await readReportRun(writeSyntheticRun({ mode: "baseline" }).path);
    expect(data.muUpdated).toBe(false);
    expect(new Set(data.muSeries.map((mu) => mu.join()))).toEqual(new Set(["1,1,0,0,1,1,0,0"]));
  });

  it("refuses a journal without a finished epoch, naming the file", async () => {
    const run = writeSyntheticRun({ epochs: 0, final: null });
    await expect(readReportRun(run.path)).rejects.toThrow(ReportError);
    await expect(readReportRun(run.path)).rejects.toThrow(`${join(run.path, "journal.jsonl")}: expected at least one finished epoch`);
  });
});

describe("rewards", () => {
  it("min / median / max per epoch over the finished samples, failures counted", () => {
    const spread = rewardSpread([
      { epoch: 0, rewards: [0.3, 0.1, 0.2, 0.9] },
      { epoch: 1, rewards: [null, 0.5, 0.4] },
      { epoch: 2, rewards: [null] },
    ]);
    expect(spread.map(({ epoch, min, median: mid, max, failed }) => [epoch, min, mid, max, failed])).toEqual([
      [0, 0.1, 0.25, 0.9, 0],
      [1, 0.4, 0.45, 0.5, 1],
    ]);
    expect(median([3, 1, 2])).toBe(2);
    expect(() => median([])).toThrow(/at least one/);
  });
});

describe("dead examples", () => {
  const stats = (examples: number, deadShare: number, meanC: number, tDeadShare = 0) =>
    ({ examples, flooredShare: deadShare / 2, deadShare, meanC, tDeadShare, meanTSlope: 1 });

  it("per epoch: the measured samples, the winner's stats and c over all their examples", () => {
    const a = stats(100, 0.9, 1);
    const b = stats(300, 0.2, 0.5);
    const spread = deadSpread([
      { epoch: 0, best: 2, lossStats: [a, null, b] },
      { epoch: 1, best: 0, lossStats: [null, a] }, // the winner measured nothing
      { epoch: 2, best: 0 }, // a record of an earlier version
      { epoch: 3, best: 0, lossStats: [null, { ...a, examples: 0 }] }, // nothing counted
    ]);
    expect(spread.map((one) => [one.epoch, one.samples.map((s) => s.sample), one.winner, one.meanC])).toEqual([
      [0, [0, 2], { ...b, sample: 2 }, (100 * 1 + 300 * 0.5) / 400],
      [1, [1], null, 1],
    ]);
    expect(hasLossStats([{ epoch: 0, best: 0 }, { epoch: 1, best: 0, lossStats: [null] }])).toBe(false);
    expect(() => deadFigure([{ epoch: 0, best: 0 }])).toThrow(/no epoch record has lossStats/);
  });

  const dots = (svg: string, label: string) => {
    const group = svg.match(new RegExp(`data-series="${label}"[^>]*>(.*?)</g>`))?.[1];
    return group === undefined ? null : (group.match(/<circle/g) ?? []).length;
  };

  it("draws every sample and the winner, t's share only when some example was dead for t", () => {
    const epochs = [
      { epoch: 0, best: 1, lossStats: [stats(10, 0.1, 0.9), stats(10, 0.6, 0.3), null] },
      { epoch: 1, best: 0, lossStats: [stats(10, 0.2, 0.8), stats(10, 0.7, 0.2), stats(10, 0.3, 0.7)] },
      { epoch: 2, best: 0 },
    ];
    const svg = deadFigure(epochs);
    expect(svg.match(/class="panel"/g)).toHaveLength(2);
    expect(dots(svg, "c &lt; 0.01: each sample")).toBe(5);
    expect(dots(svg, "c &lt; 0.01: winner")).toBe(2);
    expect(dots(svg, "a_t &lt; 0.01: each sample")).toBeNull();
    expect(dots(svg, "winner")).toBe(2);
    expect(svg).toContain("1 epoch(s) without lossStats not drawn");
    const withT = deadFigure([{ epoch: 0, best: 0, lossStats: [stats(10, 0.1, 0.9, 0.8), stats(10, 0.1, 0.9)] }]);
    expect(dots(withT, "a_t &lt; 0.01: each sample")).toBe(2);
    expect(dots(withT, "a_t &lt; 0.01: winner")).toBe(1);
    expect(withT).not.toContain("without lossStats");
  });

  it("reads the journal's lossStats into the page, or says why there is no figure", async () => {
    const run = writeSyntheticRun({ epochs: 2, lossStats: "t" });
    const data = await readReportRun(run.path);
    expect(data.epochs.map((record) => record.lossStats)).toEqual([
      [0, 1, 2].map((k) => syntheticLossStats(0, k, true)),
      [syntheticLossStats(1, 0, true), syntheticLossStats(1, 1, true), null], // sample 2 failed
    ]);
    const drawn = await writeReport(run.path, { curves: stubCurves });
    expect(drawn.figures).toContain("figure-dead");
    expect(readFileSync(join(run.path, "report", "dead.svg"), "utf8")).toContain("a_t &lt; 0.01: winner");

    const older = writeSyntheticRun({ lossStats: "none" });
    const result = await writeReport(older.path, { curves: stubCurves });
    expect(result.figures).toEqual(["figure-mu", "figure-shape", "figure-gradient", "figure-rewards"]);
    expect(result.files.some((file) => file.endsWith("dead.svg"))).toBe(false);
    const html = readFileSync(result.html, "utf8");
    expect(html).toContain('<section id="figure-dead">');
    expect(html).toContain("Not drawn: this run&#39;s journal has no lossStats");
    expect(html).not.toContain('data-figure="figure-dead"');
  });
});

/** Pixel x of each numeric x-axis tick of the first panel (tick labels: size 11, centred). */
function xTicks(svg: string): Map<number, number> {
  const panel = svg.split('class="panel"')[1] ?? "";
  const ticks = [...panel.matchAll(/<text x="([-\d.]+)" y="[-\d.]+" font-family="sans-serif" font-size="11" text-anchor="middle">([-\d.]+)<\/text>/g)];
  return new Map(ticks.map((match) => [Number(match[2]), Number(match[1])]));
}

/** Pixel x of every dot of the first panel. */
function dotXs(svg: string): number[] {
  const panel = svg.split('class="panel"')[1] ?? "";
  return [...(panel.split('class="legend"')[0] ?? "").matchAll(/<circle cx="([-\d.]+)"/g)].map((match) => Number(match[1]));
}

describe("epochs on the x axis: 1..E as the console counts them", () => {
  it("rewards of journal epoch e sit at the tick e + 1", () => {
    const epochs = [0, 1, 2, 3, 4].map((epoch) => ({ epoch, rewards: [0.5 + epoch / 100] }));
    const svg = rewardsFigure(epochs, "top1");
    const ticks = xTicks(svg);
    expect([...ticks.keys()]).toEqual([1, 2, 3, 4, 5]);
    expect(dotXs(svg)).toEqual([1, 2, 3, 4, 5].map((epoch) => ticks.get(epoch)));
  });

  it("dead examples of journal epoch e sit at the tick e + 1", () => {
    const one = { examples: 10, flooredShare: 0, deadShare: 0.2, meanC: 0.8, tDeadShare: 0, meanTSlope: 1 };
    const svg = deadFigure([0, 1, 2, 3, 4].map((epoch) => ({ epoch, best: 0, lossStats: [one] })));
    const ticks = xTicks(svg);
    expect([...ticks.keys()]).toEqual([1, 2, 3, 4, 5]);
    // each sample, then the winner (the same sample here)
    const onTicks = [1, 2, 3, 4, 5].map((epoch) => ticks.get(epoch));
    expect(dotXs(svg)).toEqual([...onTicks, ...onTicks]);
  });

  it("mu after epoch e sits at the tick e, mu_0 at 0, under a label that fits the panel", () => {
    const mu = [0, 1, 2, 3, 4, 5].map((e) => [1, 1, 0, 0, 1, 1, 0, 0].map((value) => value + e / 100));
    const svg = muFigure(mu, M);
    const ticks = xTicks(svg);
    expect([...ticks.keys()]).toEqual([0, 1, 2, 3, 4, 5]);
    const path = /class="series"[^>]* d="([^"]+)"/.exec(svg)?.[1] ?? "";
    const xs = [...path.matchAll(/[ML]([-\d.]+) /g)].map((match) => Number(match[1]));
    expect(xs).toEqual([0, 1, 2, 3, 4, 5].map((e) => ticks.get(e)));
    expect(svg).toContain(">epochs done (0: mu_0)</text>");
  });
});

describe("mu figure", () => {
  it("has four panels of M lines with E + 1 points each", () => {
    const mu = [[1, 1, 0, 0, 1, 1, 0, 0], [1.1, 0.9, 0.1, -0.1, 1, 1, 0, 0.2]];
    const svg = muFigure(mu, M, "mu is never updated in baseline mode");
    expect(svg.match(/class="panel"/g)).toHaveLength(4);
    expect(svg.match(/class="series"/g)).toHaveLength(4 * M);
    const paths = [...svg.matchAll(/class="series"[^>]* d="([^"]+)"/g)].map((match) => match[1] as string);
    expect(paths).toHaveLength(4 * M);
    for (const path of paths) expect(path.match(/[ML]/g)).toHaveLength(2);
    expect(svg).toContain("mu is never updated in baseline mode");
    expect(() => muFigure([[1, 2, 3]], M)).toThrow(/expected 4 \* M = 8 numbers, got 3/);
  });

  it("labels the intervals of x and p", () => {
    expect(intervalLabel(0, 6, -1, 1)).toBe("[-1, -0.67)");
    expect(intervalLabel(5, 6, 0, 1)).toBe("[0.83, 1]");
  });
});

describe("metrics table", () => {
  it("uses the paper's re-ID layout in percent when the keys fit, every cell escaped", async () => {
    const root = writeSyntheticRun({ name: "run", final: { mAP: 0.7312, rank1: 0.8891, rank5: 0.951 } });
    writeSyntheticRun({ mode: "baseline", name: "base", root: join(root.path, ".."), final: { mAP: 0.7, rank1: 0.85, rank5: 0.94 } });
    const runs = [
      { label: "this run", run: await readRunOutcome(root.path) },
      { label: "<baseline>", run: await readRunOutcome(join(root.path, "..", "base")) },
    ];
    const table = metricsTable(runs, join(root.path, ".."));
    expect(table.layout).toBe("re-ID (Tables 4/5)");
    expect(table.header.slice(6)).toEqual(["test mAP %", "test rank-1 %", "test rank-5 %", "test mAP (re-rank) %", "test rank-1 (re-rank) %", "test rank-5 (re-rank) %"]);
    expect(table.rows[0]).toEqual(["this run", "run", "amlfs", "3", "3/3", "0.6000", "73.1", "88.9", "95.1", "-", "-", "-"]);
    expect(table.rows[1]?.slice(0, 5)).toEqual(["<baseline>", "base", "baseline", "1", "3/3"]);
    const html = metricsTableHtml(table);
    expect(html).toContain("<td>&lt;baseline&gt;</td>");
    expect(html).toContain("laid out as the paper&#39;s re-ID (Tables 4/5)");
  });

  it("shows paths relative to the working directory when inside it, else absolute", () => {
    expect(displayPath("/a/b/run", "/a")).toBe("b/run");
    expect(displayPath("/a", "/a")).toBe(".");
    expect(displayPath("/x/run", "/a")).toBe("/x/run");
  });

  it("falls back to one column per metric", async () => {
    const run = await readRunOutcome(writeSyntheticRun({ final: { top1: 0.9, loss: 0.31 } }).path);
    const table = metricsTable([{ label: "this run", run }]);
    expect(table.layout).toBeUndefined();
    expect(table.header.slice(6)).toEqual(["test top1", "test loss"]);
    expect(table.rows[0]?.slice(6)).toEqual(["0.9000", "0.3100"]);
  });
});

describe("writeReport", () => {
  it("asks for the final mu, the identity and CosFace t(x) = x - 0.40 (the published margin)", async () => {
    const data = await readReportRun(writeSyntheticRun({ epochs: 2 }).path);
    const { thetas, ...setting } = curveRequest(data, { scale: 14, numClasses: 5 });
    expect(setting).toEqual({ M, scale: 14, numClasses: 5, tauForm: "power" });
    expect(Object.keys(thetas)).toEqual(["final", "identity", "cosface"]); // mu_0 is the identity: not drawn twice
    // two epochs of the synthetic steps, as the loss trains it: search.space "power" holds every b_tau at 0
    const finalMu = [1, 1, 0, 0, 1, 1, 0, 0].map((value, index) => (index >= 3 * M ? 0 : value + 0.01 + 0.02));
    thetas.final?.forEach((value, index) => expect(value).toBeCloseTo(finalMu[index] as number, 12));
    expect(thetas.identity).toEqual([1, 1, 0, 0, 1, 1, 0, 0]);
    expect(thetas.cosface).toEqual([1, 1, -0.4, -0.4, 1, 1, 0, 0]);
  });

  it("draws CosFace at the run's own margin when mu_0 is a cosineMargin init, and says which in the legend", async () => {
    const run = writeSyntheticRun();
    const configPath = join(run.path, "config.json");
    const config = JSON.parse(readFileSync(configPath, "utf8")) as { search: Record<string, unknown> };
    config.search.init = { kind: "cosineMargin", margin: 0.35 };
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const data = await readReportRun(run.path);
    expect(referenceMargin(data)).toBe(0.35);
    expect(curveRequest(data).thetas.cosface).toEqual([1, 1, -0.35, -0.35, 1, 1, 0, 0]);
    await writeReport(run.path, { curves: stubCurves });
    const shape = readFileSync(join(run.path, "report", "shape.svg"), "utf8");
    expect(shape).toContain("CosFace t(x) = x - 0.35");
    expect(shape).not.toContain("x - 0.40");
  });

  it("writes a self-contained page and one svg per figure", async () => {
    const run = writeSyntheticRun();
    const base = writeSyntheticRun({ mode: "baseline", root: join(run.path, "..") });
    const result = await writeReport(run.path, { baseline: base.path, curves: stubCurves });
    expect(result.figures).toEqual(["figure-mu", "figure-shape", "figure-gradient", "figure-rewards", "figure-dead"]);
    expect(result.files.map((file) => file.slice(run.path.length + 1))).toEqual([
      "report/report.html",
      "report/mu.svg",
      "report/shape.svg",
      "report/gradient.svg",
      "report/rewards.svg",
      "report/dead.svg",
    ]);
    const html = readFileSync(result.html, "utf8");
    for (const id of result.figures) expect(html).toContain(`data-figure="${id}"`);
    expect(html).not.toMatch(/<script|<link|@import|src=|url\((?!#)/);
    for (const url of html.match(/https?:\/\/[^"\s]*/g) ?? []) expect(url).toBe("http://www.w3.org/2000/svg"); // a namespace, not a fetch
    expect(html).toContain("<title>AM-LFS report: synthetic-amlfs</title>");
    expect(html).toContain('data-table="metrics"');
    expect(readFileSync(result.files[1] as string, "utf8")).toMatch(/^<\?xml [^>]+>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg" id="figure-mu"/);
    expect(readFileSync(result.files[2] as string, "utf8")).toContain("CosFace t(x) = x - 0.40"); // the identity init: the published margin
  });

  it("says in the page that a baseline run never updates mu", async () => {
    const run = writeSyntheticRun({ mode: "baseline" });
    const html = readFileSync((await writeReport(run.path, { curves: stubCurves })).html, "utf8");
    expect(html).toContain("mu is never updated in baseline mode");
    expect(html).toContain("fixed theta (baseline mode)");
  });
});
