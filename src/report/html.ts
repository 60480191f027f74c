/**
 * The report page: one self-contained HTML document (inline CSS and SVG, no script, no
 * external URL), so it opens offline and can be mailed or archived as one file.
 */
import { escapeXml } from "./svg.js";

export interface ReportSection {
  /** Anchor id of the section. */
  id: string;
  heading: string;
  /** Paragraphs of plain text, escaped here. */
  text: readonly string[];
  /** Raw markup: an inline `<svg>` or a `<table>` (already escaped); "" for a section of text only. */
  body: string;
}

const CSS = `
body { font-family: sans-serif; margin: 2em auto; max-width: 1000px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
p.meta { color: #555; margin-top: 0; }
figure { margin: 1em 0; overflow-x: auto; }
svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
caption { text-align: left; color: #555; padding-bottom: 0.4em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
nav a { margin-right: 1em; }
`;

export function renderReportHtml(page: { title: string; meta: readonly string[]; sections: readonly ReportSection[] }): string {
  const nav = page.sections.map((section) => `<a href="#${escapeXml(section.id)}">${escapeXml(section.heading)}</a>`).join("");
  const sections = page.sections
    .map(
      (section) =>
        `<section id="${escapeXml(section.id)}">\n<h2>${escapeXml(section.heading)}</h2>\n` +
        section.text.map((line) => `<p>${escapeXml(line)}</p>`).join("\n") +
        (section.body === "" ? "" : `\n<figure>${section.body}</figure>`) +
        `\n</section>`,
    )
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeXml(page.title)}</h1>
${page.meta.map((line) => `<p class="meta">${escapeXml(line)}</p>`).join("\n")}
<nav>${nav}</nav>
${sections}
</body>
</html>
`;
}
