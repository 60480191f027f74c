/**
 * Writes proto/experiment.schema.json from the zod schema (`npm run proto`), or with
 * `--check` exits 1 when the committed file differs (`npm run proto:check`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EXPERIMENT_SCHEMA_FILE, renderExperimentJsonSchema, schemaDriftMessage } from "./json-schema.js";

const SCHEMA_PATH = fileURLToPath(new URL(`../../${EXPERIMENT_SCHEMA_FILE}`, import.meta.url));

function readCommitted(): string | undefined {
  try {
    return readFileSync(SCHEMA_PATH, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${EXPERIMENT_SCHEMA_FILE}`, { cause: error });
  }
}

function main(args: readonly string[]): number {
  if (args.includes("--check")) {
    const drift = schemaDriftMessage(readCommitted());
    if (drift === null) return 0;
    process.stderr.write(`${drift}\n`);
    return 1;
  }
  writeFileSync(SCHEMA_PATH, renderExperimentJsonSchema());
  process.stdout.write(`wrote ${EXPERIMENT_SCHEMA_FILE}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
