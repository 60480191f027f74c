/**
 * The report in a real browser: `amlfs report` on a synthetic run (curves from the Python
 * loss through pythonia), opened in headless Chromium from Debian's packages (`make
 * browser`): every figure is there with a non-zero size, no text runs outside its figure,
 * no console or page error, no request outside the file. Skipped, saying why, without Chromium or the project's Python.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { checkInBrowser, chromiumPath } from "../../src/report/browser.js";
import { SKIP_REASON as PYTHON_SKIP } from "../integration/python-env.js";
import { writeSyntheticRun } from "./synthetic-run.js";

const CHROMIUM = chromiumPath();
const SKIP = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (run \`make browser\`)` : PYTHON_SKIP;
const FIGURES = ["figure-mu", "figure-shape", "figure-gradient", "figure-rewards", "figure-dead"];
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe.skipIf(SKIP !== null)(`report in headless Chromium${SKIP === null ? "" : ` (skipped: ${SKIP})`}`, () => {
  it("shows every figure, with no console error and no outside request", async () => {
    const run = writeSyntheticRun({ epochs: 4 });
    const base = writeSyntheticRun({ mode: "baseline", root: join(run.path, "..") });
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(["report", run.path, "--baseline", base.path], { out: (t) => out.push(t), err: (t) => err.push(t) });
    expect(err.join("")).toBe("");
    expect(code).toBe(0);
    const html = join(run.path, "report", "report.html");
    expect(out.join("")).toContain(html);

    const pngDir = mkdtempSync(join(tmpdir(), "amlfs-png-"));
    const check = await checkInBrowser(html, { pngDir });
    expect(check.errors).toEqual([]);
    expect(check.externalRequests).toEqual([]);
    expect(check.clippedText).toEqual([]); // e.g. the mu figure's x label once lost its first letters at the left edge
    expect(Object.keys(check.figures)).toEqual(FIGURES);
    for (const id of FIGURES) {
      expect(check.figures[id]?.width).toBeGreaterThan(100);
      expect(check.figures[id]?.height).toBeGreaterThan(100);
    }
    expect(check.pngs).toHaveLength(FIGURES.length);
    for (const png of check.pngs) expect(readFileSync(png).subarray(0, 8)).toEqual(PNG_MAGIC);
  });

  it("catches console errors, page errors and outside requests (the check can fail)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "amlfs-bad-page-"));
    const page = join(dir, "bad.html");
    writeFileSync(
      page,
      `<!DOCTYPE html><html><head><title>bad</title></head><body>
<svg data-figure="figure-empty" width="0" height="0"></svg>
<svg data-figure="figure-cut" width="120" height="40"><text x="-20" y="20" font-size="12">epoch</text><text x="10" y="20" font-size="12">in</text></svg>
<img src="http://127.0.0.1:9/missing.png">
<script>console.error("drawn wrong"); throw new Error("boom");</script></body></html>`,
    );
    const check = await checkInBrowser(page);
    expect(check.errors).toEqual(expect.arrayContaining(["console: drawn wrong", expect.stringMatching(/^page: .*boom/)]));
    expect(check.externalRequests).toEqual(["http://127.0.0.1:9/missing.png"]);
    expect(check.figures["figure-empty"]).toEqual({ width: 0, height: 0 });
    expect(check.clippedText).toEqual(["figure-cut: epoch"]);
  });
});
