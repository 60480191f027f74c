/**
 * Headless Chromium (Debian's `chromium` package, `make browser`) through playwright-core:
 * opens a report and takes a PNG of each figure. Optional: the report itself is SVG.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ReportError } from "./errors.js";

/** $AMLFS_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.AMLFS_CHROMIUM;
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : "/usr/bin/chromium";
}

/** Flags for a sandbox-free CI container: no GPU, no network chatter, no first-run UI. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface PageCheck {
  /** Figure id -> rendered size in CSS px. */
  figures: Record<string, { width: number; height: number }>;
  /** Console errors and uncaught page errors, as text. */
  errors: string[];
  /** Requests the page made to anything but its own file (a self-contained page makes none). */
  externalRequests: string[];
  /** PNG files written (when `pngDir` is given). */
  pngs: string[];
  /** `<figure id>: <text>` for each text of a figure drawn partly outside its svg (cut off on screen). */
  clippedText: string[];
}

/**
 * Opens `htmlPath` in headless Chromium with a fresh profile and reports every
 * `svg[data-figure]`'s size, the texts that run outside it, console and page errors, and outside requests; with
 * `pngDir`, writes `<pngDir>/<figure without "figure-">.png` for each figure.
 */
export async function checkInBrowser(htmlPath: string, options: { pngDir?: string; executablePath?: string } = {}): Promise<PageCheck> {
  const executablePath = options.executablePath ?? chromiumPath();
  if (!existsSync(executablePath)) {
    throw new ReportError(`no Chromium at ${executablePath}; fix: \`make browser\` (apt-get install chromium) or set AMLFS_CHROMIUM`);
  }
  const { chromium } = await import("playwright-core");
  const profile = await mkdtemp(join(tmpdir(), "amlfs-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    const externalRequests: string[] = [];
    const own = pathToFileURL(htmlPath).href;
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => errors.push(`page: ${error.message}`));
    page.on("request", (request) => {
      if (request.url() !== own) externalRequests.push(request.url());
    });
    await page.goto(own, { waitUntil: "load" });
    const figures: PageCheck["figures"] = {};
    const pngs: string[] = [];
    const clippedText: string[] = [];
    for (const handle of await page.$$("svg[data-figure]")) {
      const id = (await handle.getAttribute("data-figure")) ?? "";
      const box = await handle.boundingBox();
      figures[id] = { width: box?.width ?? 0, height: box?.height ?? 0 };
      // Rendered glyph boxes, not estimates: a label wider than its room shows here.
      const outside = await handle.evaluate((svg) => {
        const frame = svg.getBoundingClientRect();
        return [...svg.querySelectorAll("text")]
          .filter((text) => {
            const r = text.getBoundingClientRect();
            return r.left < frame.left - 0.5 || r.right > frame.right + 0.5 || r.top < frame.top - 0.5 || r.bottom > frame.bottom + 0.5;
          })
          .map((text) => text.textContent ?? "");
      });
      clippedText.push(...outside.map((text) => `${id}: ${text}`));
      if (options.pngDir !== undefined) {
        const path = join(options.pngDir, `${id.replace(/^figure-/, "")}.png`);
        await handle.screenshot({ path });
        pngs.push(path);
      }
    }
    return { figures, errors, externalRequests, pngs, clippedText };
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}
