/**
 * docs/catalog.md: the baselines, their datasets and options, and the datasets' on-disk
 * layouts, rendered from proto/catalog.json (itself generated from the Python registries),
 * so the page cannot drift from what `amlfs validate` checks.
 */
import { CATALOG, CATALOG_FILE, type DatasetLayout, type OptionSpec } from "./catalog.js";

export const CATALOG_DOCS_FILE = "docs/catalog.md";

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function optionRow(name: string, option: OptionSpec): string {
  return `| \`${name}\` | ${cell(option.expected)} | \`${JSON.stringify(option.default)}\` |`;
}

function layoutText(layout: DatasetLayout | null): string {
  if (layout === null) return "built in: nothing is read from disk, `dataset.root` stays empty";
  const entries = layout.entries.map((entry) => {
    const names = entry.names.map((name) => `\`${name}${entry.kind === "directory" ? "/" : ""}\``).join(" or ");
    const unless = entry.unlessOptions === undefined ? "" : ` (not needed with \`baseline.options.${entry.unlessOptions.join("` or `")}\`)`;
    return `${names}${unless}`;
  });
  const where = layout.folder === null ? "`dataset.root` holds" : `\`dataset.root\` (the extracted \`${layout.folder}/\`, or its parent) holds`;
  return `${where} ${entries.join(", ")}`;
}

export function renderCatalogDocs(): string {
  const lines = [
    "# Baselines, datasets and options",
    "",
    `Generated from \`${CATALOG_FILE}\` (itself generated from the Python registries by`,
    "`tools/make_catalog.py`) by `npm run proto`; `make test` fails when this page is out of date.",
    "`amlfs validate`, `amlfs search` and `amlfs resume` check a config against it before any worker",
    "starts: a baseline on a dataset it does not run on, an unknown `baseline.options` name or a",
    "value of the wrong type, a `dataset.root` without the layout below, and a path option",
    "(`pathOrNull`: pretrained weights, LFW) naming nothing that exists are config errors (exit 2;",
    "`--no-data-check` skips the two on-disk checks, for data only the workers' nodes see). A",
    "config whose `workers.command` runs your own worker program (docs/plug-in.md) may name any",
    "baseline with any options; its dataset is still checked.",
    "",
    "## Datasets",
    "",
    "| `dataset.kind` | reward metrics | `dataset.labelNoise` | on disk |",
    "|---|---|---|---|",
  ];
  for (const [kind, entry] of Object.entries(CATALOG.datasets)) {
    const metrics = entry.rewardMetrics.map((metric) => `\`${metric}\``).join(", ");
    lines.push(`| \`${kind}\` | ${metrics} | ${entry.labelNoise ? "yes" : "no"} | ${cell(layoutText(entry.layout))} |`);
  }
  lines.push("");
  lines.push("## Baselines", "");
  for (const [name, entry] of Object.entries(CATALOG.baselines)) {
    lines.push(`### \`${name}\``, "");
    const metrics = entry.rewardMetrics.map((metric) => `\`${metric}\``).join(", ");
    lines.push(
      `Datasets: ${entry.datasets.map((kind) => `\`${kind}\``).join(", ")}. Reward metrics: ${metrics} (usually \`${entry.rewardMetric}\`).`,
      "",
    );
    lines.push("| `baseline.options.` | expected | default |", "|---|---|---|");
    for (const [option, spec] of Object.entries(entry.options)) lines.push(optionRow(option, spec));
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
