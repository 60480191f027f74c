/**
 * Writes the generated files of proto/ from their zod sources (`npm run proto`), or with
 * `--check` exits 1 naming each file that differs (`npm run proto:check`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { driftMessage, GENERATED_FILES, type GeneratedFile } from "./generated.js";

function absolute(file: GeneratedFile): string {
  return fileURLToPath(new URL(`../../${file.path}`, import.meta.url));
}

function readCommitted(file: GeneratedFile): string | undefined {
  try {
    return readFileSync(absolute(file), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${file.path}`, { cause: error });
  }
}

function main(args: readonly string[]): number {
  if (args.includes("--check")) {
    const drifts = GENERATED_FILES.map((file) => driftMessage(file, readCommitted(file))).filter((m) => m !== null);
    for (const drift of drifts) process.stderr.write(`${drift}\n`);
    return drifts.length === 0 ? 0 : 1;
  }
  for (const file of GENERATED_FILES) {
    writeFileSync(absolute(file), file.render());
    process.stdout.write(`wrote ${file.path}\n`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
