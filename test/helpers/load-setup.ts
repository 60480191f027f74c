/**
 * Vitest global setup: measures the load factor once, before any test file runs, and
 * hands it to the test processes (and the processes they start) in AMLFS_TEST_LOAD_FACTOR.
 * A factor already set there is used as given.
 */
import { LOAD_FACTOR_ENV, measureLoad, parseLoadFactor } from "./load.js";

export default async function setup(): Promise<void> {
  const given = process.env[LOAD_FACTOR_ENV];
  if (given !== undefined && given !== "") {
    console.log(`[load] factor ${parseLoadFactor(given)} (from ${LOAD_FACTOR_ENV})`);
    return;
  }
  const load = await measureLoad();
  process.env[LOAD_FACTOR_ENV] = String(load.factor);
  const torch = load.torch === null ? "import torch not measured (no Python)" : `import torch x${load.torch.toFixed(2)}`;
  console.log(`[load] factor ${load.factor}: time limits scaled by it (hash loop on every core x${load.cpu.toFixed(2)}, ${torch}, against the idle machine)`);
}
