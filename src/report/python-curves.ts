/**
 * The loss curves of the figures, computed by the Python loss that trains
 * (python/amlfs/report_curves.py, `curves_json`) through pythonia, so a figure cannot
 * drift from the loss (docs/design.md, Light calls into Python: pythonia for light calls,
 * data as JSON).
 */
import { z } from "zod";
import { callPythonJson, parseJsonAnswer } from "../launch/python-json.js";
import { ReportError } from "./errors.js";

export const DEFAULT_CURVES_TIMEOUT_MS = 60_000;

export interface CurveRequest {
  M: number;
  /** name -> theta (4 M numbers). */
  thetas: Record<string, readonly number[]>;
  gridPoints?: number;
  /** C of the gradient setting (the other C - 1 logits are 0). */
  numClasses?: number;
  /** s of the gradient setting: logit = s * cosine. */
  scale?: number;
  /** The loss's form of tau (the run's search.space); absent: linear. */
  tauForm?: "linear" | "power";
}

const curves = z.object({
  x: z.array(z.number()),
  t: z.array(z.number()),
  p: z.array(z.number()),
  tau: z.array(z.number()),
  tauRaw: z.array(z.number()),
  tauFloored: z.array(z.boolean()),
  logit: z.array(z.number()),
  gradMagnitude: z.array(z.number()),
  targetProbability: z.array(z.number()),
});

const answer = z.object({
  setting: z.object({ M: z.number().int(), gridPoints: z.number().int(), numClasses: z.number().int(), scale: z.number() }),
  curves: z.record(z.string(), curves),
});

export type LossCurves = z.infer<typeof curves>;
export type CurveAnswer = z.infer<typeof answer>;

/** Computes curves for a request; the report takes this as a parameter so tests can stub it. */
export type CurveSource = (request: CurveRequest) => Promise<CurveAnswer>;

/** Parses and checks `curves_json`'s answer (every curve named in the request, equal lengths). */
export function parseCurveAnswer(text: string, request: CurveRequest): CurveAnswer {
  const data = parseJsonAnswer("amlfs.report_curves", text, answer, reportError);
  for (const name of Object.keys(request.thetas)) {
    const one = data.curves[name];
    if (one === undefined) throw new ReportError(`amlfs.report_curves answer: expected a curve named ${JSON.stringify(name)}, got none`);
    if (one.t.length !== one.x.length || one.tau.length !== one.p.length || one.gradMagnitude.length !== one.logit.length) {
      throw new ReportError(`amlfs.report_curves answer: curve ${JSON.stringify(name)}: expected equal lengths of x/t, p/tau, logit/gradMagnitude`);
    }
  }
  return data;
}

const reportError = (message: string, cause?: unknown) => new ReportError(message, cause === undefined ? undefined : { cause });

/**
 * Asks the workers' Python (AMLFS_PYTHON, else .venv/bin/python, else python3) through
 * pythonia, within `timeoutMs`; ReportError with the fix when Python or amlfs is missing.
 */
export function pythonCurves(request: CurveRequest, options: { python?: string; timeoutMs?: number } = {}): Promise<CurveAnswer> {
  const call = { module: "amlfs.report_curves", fn: "curves_json", what: "cannot compute the loss curves" };
  const timeoutMs = options.timeoutMs ?? DEFAULT_CURVES_TIMEOUT_MS;
  return callPythonJson({ ...call, python: options.python, timeoutMs }, request, (text) => parseCurveAnswer(text, request), reportError);
}
