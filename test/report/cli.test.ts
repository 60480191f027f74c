import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { writeSyntheticRun } from "./synthetic-run.js";

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

describe("amlfs report: arguments", () => {
  it("is listed in the top-level help and has its own", async () => {
    expect((await run(["--help"])).out).toContain("amlfs report <runDir>");
    const help = await run(["report", "--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: amlfs report <runDir>/);
    expect(help.out).toContain("--baseline DIR");
  });

  it.each([
    [["report"], "report: expected a run directory"],
    [["report", "a", "b"], 'report: unexpected argument "b"'],
    [["report", "a", "--scale=-1"], 'report: --scale: expected a number > 0, got "-1"'],
    [["report", "a", "--scale", "abc"], 'report: --scale: expected a number > 0, got "abc"'],
    [["report", "a", "--classes", "1"], 'report: --classes: expected an integer >= 2, got "1"'],
    [["report", "a", "--nope"], "report: Unknown option '--nope'"],
  ])("%j is a usage error (exit 2)", async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(result.err).toContain("Usage: amlfs report");
  });

  it("names a directory that is not a run (exit 2) and a run without epochs (exit 1)", async () => {
    const missing = await run(["report", "/nonexistent/run"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("/nonexistent/run is not a run directory");
    const empty = writeSyntheticRun({ epochs: 0, final: null });
    const result = await run(["report", empty.path]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/journal\.jsonl: expected at least one finished epoch record/);
  });
});
