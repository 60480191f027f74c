/**
 * The generated files (proto/ and the config reference in docs/): each is rendered from its
 * zod source, written by `npm run proto` and compared by `npm run proto:check`.
 */
import { CATALOG_DOCS_FILE, renderCatalogDocs } from "./catalog-docs.js";
import { CONFIG_DOCS_FILE, renderConfigDocs } from "./config-docs.js";
import { EXPERIMENT_SCHEMA_FILE, experimentJsonSchema } from "./json-schema.js";
import { WIRE_SCHEMA_FILE, wireJsonSchema } from "./wire/json-schema.js";

export interface GeneratedFile {
  /** Path relative to the repository root. */
  path: string;
  render: () => string;
}

/** Two-space indentation and a trailing newline. */
function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export const GENERATED_FILES: readonly GeneratedFile[] = [
  { path: EXPERIMENT_SCHEMA_FILE, render: () => renderJson(experimentJsonSchema()) },
  { path: WIRE_SCHEMA_FILE, render: () => renderJson(wireJsonSchema()) },
  { path: CONFIG_DOCS_FILE, render: renderConfigDocs },
  { path: CATALOG_DOCS_FILE, render: renderCatalogDocs },
];

/** Null when `committed` is what the source generates, else the message to print. */
export function driftMessage(file: GeneratedFile, committed: string | undefined): string | null {
  if (committed === file.render()) return null;
  const reason = committed === undefined ? "is missing" : "is out of date";
  return `${file.path} ${reason}: run \`npm run proto\``;
}
