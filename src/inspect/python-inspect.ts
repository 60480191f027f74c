/**
 * The numbers of `amlfs inspect-space`, computed by the Python loss that trains
 * (python/amlfs/inspect_space, `inspect_space_json`) through pythonia, as the report's
 * curves are (src/report/python-curves.ts). Request and answer are JSON; the answer is
 * checked here so a malformed one names its field.
 */
import { z } from "zod";
import { callPythonJson, parseJsonAnswer } from "../launch/python-json.js";
import { InspectError } from "./errors.js";

/** The Python side may take tens of seconds: 2 x (K + 1) forward and backward passes over N x C cosines. */
export const DEFAULT_INSPECT_TIMEOUT_MS = 600_000;

/** `{"cosine": [[...]] (N x C), "target": [...] (N), "scale": number or an array broadcastable to [N, C]}`. */
export interface GivenCosines {
  cosine: number[][];
  target: number[];
  scale: number | number[][];
}

export interface InspectRequest {
  M: number;
  /** Per form: mu_0 and the sampled losses as trained (4M numbers each), and the loss option tau_form. */
  forms: Record<string, { mu: number[]; thetas: number[][]; tauForm?: string }>;
  /** The validated config: Python reads its default classes and scale from it. */
  experiment: unknown;
  classes?: number;
  /** s > 0 of a normalized head, or "linear" (s_j = ||W_j|| ||x||). */
  scale?: number | "linear";
  examples?: number;
  seed?: number;
  cosines?: GivenCosines;
}

const thetaStats = z.object({ gradNorm: z.number(), floored: z.number(), dead: z.number() });
const sample = thetaStats.extend({ ratio: z.number().nullable() });
const summary = z.object({
  samples: z.number().int(),
  deadSamples: z.number().int().nullable(),
  deadSampleShare: z.number().nullable(),
  medianRatio: z.number().nullable(),
  minRatio: z.number().nullable(),
  meanFloored: z.number(),
  meanDead: z.number(),
});
const answer = z.object({
  setting: z.object({
    classes: z.number().int(),
    classesFrom: z.string(),
    scale: z.union([z.number(), z.string()]),
    scaleFrom: z.string(),
    inputs: z.enum(["random", "given"]),
    examples: z.number().int(),
    dim: z.number().int().nullable(),
    seed: z.number().int().nullable(),
    medianTargetProbability: z.number(),
    meanTargetScale: z.number(),
  }),
  thresholds: z.object({ deadRatio: z.number(), deadC: z.number() }),
  forms: z.record(z.string(), z.object({ mu: thetaStats, samples: z.array(sample), summary })),
});

export type InspectAnswer = z.infer<typeof answer>;
export type FormAnswer = InspectAnswer["forms"][string];

/** Parses `inspect_space_json`'s answer; every form of the request, one sample per theta. */
export function parseInspectAnswer(text: string, request: InspectRequest): InspectAnswer {
  const data = parseJsonAnswer("amlfs.inspect_space", text, answer, inspectError);
  for (const [name, form] of Object.entries(request.forms)) {
    const got = data.forms[name];
    if (got === undefined || got.samples.length !== form.thetas.length) {
      const count = got === undefined ? "none" : `${got.samples.length} samples`;
      throw new InspectError(`amlfs.inspect_space answer: form ${JSON.stringify(name)}: expected ${form.thetas.length} samples, got ${count}`);
    }
  }
  return data;
}

const inspectError = (message: string, cause?: unknown) => new InspectError(message, cause === undefined ? undefined : { cause });

/** Asks the workers' Python (AMLFS_PYTHON, else .venv/bin/python, else python3) within `timeoutMs`. */
export function pythonInspect(request: InspectRequest, options: { python?: string; timeoutMs?: number } = {}): Promise<InspectAnswer> {
  const call = { module: "amlfs.inspect_space", fn: "inspect_space_json", what: "cannot inspect the space" };
  const timeoutMs = options.timeoutMs ?? DEFAULT_INSPECT_TIMEOUT_MS;
  return callPythonJson({ ...call, python: options.python, timeoutMs }, request, (text) => parseInspectAnswer(text, request), inspectError);
}
