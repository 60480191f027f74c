/** Small experiment configs for the orchestration tests. */
import { type Experiment, parseExperiment } from "../../src/schema/index.js";

export function tinyConfig(overrides: { name?: string; seed?: number; B?: number; epochs?: number; M?: number; W?: number; heartbeatTimeoutMs?: number; mode?: "amlfs" | "fixed" | "baseline" } = {}): Experiment {
  return parseExperiment({
    name: overrides.name ?? "tiny",
    seed: overrides.seed ?? 7,
    baseline: { name: "small-cnn" },
    dataset: { kind: "digits" },
    search: {
      mode: overrides.mode ?? "amlfs",
      ...(overrides.mode === "baseline" ? {} : { B: overrides.B ?? 3 }),
      epochs: overrides.epochs ?? 2,
      M: overrides.M ?? 2,
    },
    workers: { count: overrides.W ?? 2, heartbeatTimeoutMs: overrides.heartbeatTimeoutMs ?? 3000 },
    reward: { metric: "top1" },
  });
}
