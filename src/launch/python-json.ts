/**
 * A JSON-in, JSON-out call into the workers' Python (`callPython`), its answer checked
 * against a zod schema, for `amlfs report` (loss curves) and `amlfs inspect-space`. Every
 * failure becomes one error of the caller's layer: an answer that is not JSON, the first
 * field that fails the schema, or the call itself with the command that fixes it.
 */
import type { z } from "zod";
import { resolvePython } from "./python.js";
import { PythonCallError, callPython } from "./pythonia.js";

const FIX = "run `make setup` (or set AMLFS_PYTHON to a Python where `import amlfs` works)";

/** Builds the caller's error (ReportError, InspectError, ...) from a message and its cause. */
export type MakeError = (message: string, cause?: unknown) => Error;

/** `text` as JSON checked by `schema`; errors say it is `module`'s answer and name the field. */
export function parseJsonAnswer<S extends z.ZodType>(module: string, text: string, schema: S, error: MakeError): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw error(`${module} answered something that is not JSON: ${(cause as Error).message}`, cause);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw error(`${module} answer: field \`${issue?.path.join(".") ?? "?"}\`: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/**
 * `module.fn(JSON.stringify(request))` in `python` (default: the workers' Python,
 * AMLFS_PYTHON, else .venv/bin/python, else python3) within `timeoutMs`, its answer parsed
 * by `parse`. A failed call becomes `error("<what>: <why>; fix: ...")`; the fix is left out
 * when Python ran and raised (its message says why).
 */
export async function callPythonJson<Request, Answer>(
  call: { module: string; fn: string; what: string; python?: string; timeoutMs: number },
  request: Request,
  parse: (text: string) => Answer,
  error: MakeError,
): Promise<Answer> {
  const python = call.python ?? resolvePython();
  let text: string;
  try {
    text = await callPython(python, call.module, call.fn, JSON.stringify(request), call.timeoutMs);
  } catch (cause) {
    if (!(cause instanceof PythonCallError)) throw cause;
    const fix = cause.failure === "raised" ? "" : `; fix: ${FIX}`;
    throw error(`${call.what}: ${cause.message}${fix}`, cause);
  }
  return parse(text);
}
