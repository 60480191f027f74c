/**
 * bench/search_efficacy.ts without running anything: variant flags, dotted overrides, the
 * configs of a grid (valid, data fixed, baseline mode at B = 1), paired statistics and the report.
 */
import { describe, expect, it } from "vitest";
import { collapsed, comparisons, renderReport } from "../../bench/search_efficacy/report.js";
import type { RunResult } from "../../bench/search_efficacy/runner.js";
import { mean, paired, parseSeeds, sampleStd } from "../../bench/search_efficacy/stats.js";
import { classesOf, configFor, TASKS } from "../../bench/search_efficacy/tasks.js";
import { applyOverrides, BUILT_IN_VARIANTS, parseVariant, splitTopLevel } from "../../bench/search_efficacy/variants.js";
import { REPO_ROOT } from "../../src/launch/python.js";
import { parseExperiment } from "../../src/schema/index.js";

const settings = { epochs: 20, sigmaStd: 0.2, B: 4, W: 2 };
const task = (id: string) => TASKS.find((t) => t.id === id) as (typeof TASKS)[number];
const variant = (name: string) => BUILT_IN_VARIANTS.find((v) => v.name === name) as (typeof BUILT_IN_VARIANTS)[number];

function run(top1: number | null, seed = 1): RunResult {
  return { runDir: `/runs/s${seed}`, exitCode: top1 === null ? 1 : 0, wallS: 10, reused: false, top1, epochsDone: 20, epochsAtChance: 0 };
}

describe("variants", () => {
  it("parses a name and dotted overrides, with shorthands and JSON values", () => {
    expect(parseVariant("name=amlfs-paper:mode=amlfs,search.space=paper")).toEqual({
      name: "amlfs-paper",
      overrides: { "search.mode": "amlfs", "search.space": "paper" },
    });
    expect(parseVariant('name=m:search.init={"kind":"theta","theta":[1,0,1,0]},sigma=0.1,B=8,x.y="1"').overrides).toEqual({
      "search.init": { kind: "theta", theta: [1, 0, 1, 0] },
      "search.sigmaStd": 0.1,
      "search.B": 8,
      "x.y": "1",
    });
    expect(parseVariant("name=plain")).toEqual({ name: "plain", overrides: {} });
    expect(splitTopLevel('a=[1,2],b="x,y",c={"d":1,"e":2}', ",")).toEqual(["a=[1,2]", 'b="x,y"', 'c={"d":1,"e":2}']);
  });

  it("names the flag and what was expected", () => {
    expect(() => parseVariant("amlfs:mode=amlfs")).toThrow(/--variant "amlfs:mode=amlfs": expected "name=<name>:key=value,\.\.\."/);
    expect(() => parseVariant("name=Bad Name")).toThrow(/lowercase/);
    expect(() => parseVariant("name=x:mode")).toThrow(/expected key=value pairs with a dotted key, got "mode"/);
  });

  it("applies overrides to a copy, creating objects, refusing to go through a value", () => {
    const base = { search: { mode: "amlfs" }, seed: 0 };
    expect(applyOverrides(base, { "search.mode": "fixed", "a.b.c": 1 })).toEqual({ search: { mode: "fixed" }, seed: 0, a: { b: { c: 1 } } });
    expect(base.search.mode).toBe("amlfs");
    expect(() => applyOverrides(base, { "seed.x": 1 })).toThrow(/override seed.x: seed is 0, not an object/);
  });

  it("parses seed lists", () => {
    expect(parseSeeds("1-5")).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeeds("1-3,7,2")).toEqual([1, 2, 3, 7]);
    expect(() => parseSeeds("5-1")).toThrow(/--seeds "5-1"/);
  });
});

describe("the grid's configs", () => {
  it("are valid, vary only the seed, and put baseline mode at B = 1 on one worker", () => {
    for (const t of TASKS) {
      for (const v of BUILT_IN_VARIANTS) {
        const one = configFor(REPO_ROOT, t, v, 1, settings);
        const two = configFor(REPO_ROOT, t, v, 2, settings);
        const parsed = parseExperiment(one, "test");
        expect(parsed.search.epochs).toBe(20);
        expect(parsed.search.sigmaStd).toBe(0.2);
        expect(parsed.search.mode).toBe(v.name);
        expect([parsed.search.B, parsed.workers.count]).toEqual(v.name === "baseline" ? [1, 1] : [4, 2]);
        expect({ ...two, name: one.name, seed: 1 }).toEqual(one);
        expect(two.dataset).toEqual(one.dataset);
      }
    }
    expect(parseExperiment(configFor(REPO_ROOT, task("digits40"), variant("amlfs"), 3, settings), "t").dataset.labelNoise).toEqual({ ratio: 0.4, seed: 0 });
    expect(classesOf(configFor(REPO_ROOT, task("many-class"), variant("amlfs"), 1, settings))).toBe(1000);
    expect(classesOf(configFor(REPO_ROOT, task("digits20"), variant("amlfs"), 1, settings))).toBe(10);
  });
});

describe("statistics and report", () => {
  it("pairs by seed", () => {
    const a = new Map([[1, 0.9], [2, 0.8], [3, 0.7], [4, 0.5]]);
    const b = new Map([[1, 0.85], [2, 0.8], [3, 0.75]]);
    expect(paired(a, b)).toMatchObject({ wins: 1, ties: 1, losses: 1, n: 3 });
    expect(paired(a, b).meanDiff).toBeCloseTo(0, 12);
    expect(mean([1, 2, 3])).toBe(2);
    expect(sampleStd([1, 2, 3])).toBe(1);
    expect(Number.isNaN(sampleStd([1]))).toBe(true);
  });

  it("flags collapse below the baseline minus one point, and compares the search to its controls", () => {
    expect(collapsed(run(0.889), run(0.9))).toBe(true);
    expect(collapsed(run(0.891), run(0.9))).toBe(false);
    expect(collapsed(run(null), run(0.9))).toBe(false);
    const extra = parseVariant("name=paper:search.space=paper");
    expect(comparisons([...BUILT_IN_VARIANTS, extra])).toEqual([
      ["amlfs", "fixed"],
      ["amlfs", "baseline"],
      ["paper", "fixed"],
      ["paper", "baseline"],
      ["paper", "amlfs"],
      ["fixed", "baseline"],
    ]);
  });

  it("renders a table per task with the command line first", () => {
    const runs = new Map([
      ["baseline", new Map([[1, run(0.9)], [2, run(0.8, 2)]])],
      ["fixed", new Map([[1, run(0.9)], [2, run(null, 2)]])],
      ["amlfs", new Map([[1, run(0.95)], [2, run(0.7, 2)]])],
    ]);
    const text = renderReport({
      command: "npx tsx bench/search_efficacy.ts --seeds 1-2",
      date: "2026-01-01T00:00:00.000Z",
      machine: "test",
      outDir: "runs/bench/x",
      ...settings,
      seeds: [1, 2],
      variants: BUILT_IN_VARIANTS,
      tasks: [{ task: task("digits20"), classes: 10, runs }],
      describe: (v) => JSON.stringify(v.overrides),
    });
    expect(text.split("\n")[2]).toBe("Command: `npx tsx bench/search_efficacy.ts --seeds 1-2`");
    expect(text).toMatch(/\| 2 +\| 80\.00 +\| failed \(exit 1\) \| 70\.00 collapsed \|/);
    expect(text).toMatch(/\| mean +\| 85\.00 +\| 90\.00 +\| 82\.50 +\|/);
    expect(text).toMatch(/\| amlfs vs baseline \| 2 +\| 1 +\| 0 +\| 1 +\| -2\.50 +\|/);
    expect(text).toContain("0 of 20, 10.0 s");
  });
});
