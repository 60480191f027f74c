/** Reads an experiment config file (JSON) and validates it; every failure is a ConfigError naming the file. */
import { readFile } from "node:fs/promises";
import { ConfigError, type Experiment, parseExperiment } from "../schema/index.js";
import { parseJsonText } from "../schema/json-text.js";

export async function readConfigFile(path: string, overrides: { workers?: number } = {}): Promise<Experiment> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(path, [{ path: "(file)", message: `cannot read the file: ${(error as Error).message}` }], {
      cause: error,
    });
  }
  let raw = parseJsonText(text, path);
  if (overrides.workers !== undefined && raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    const record = raw as Record<string, unknown>;
    const workers = record.workers !== null && typeof record.workers === "object" ? record.workers : {};
    raw = { ...record, workers: { ...workers, count: overrides.workers } };
  }
  return parseExperiment(raw, path);
}
