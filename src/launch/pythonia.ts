/**
 * One light call into the workers' Python through pythonia (docs/design.md, Light calls
 * into Python): a function of a Python module that takes a JSON string (or null) and
 * returns a string. Used by `amlfs doctor` and `amlfs report`.
 *
 * pythonia starts its Python as soon as it is imported (and again after `exit()`), from
 * $PYTHON_BIN, with this process's environment; it cannot report a Python that fails to start
 * (the spawn error fires before anyone can listen). So the interpreter is first run once on
 * its own (`-c "import <module>"`), then PYTHON_BIN, PYTHONPATH and REQ_TIMEOUT are set
 * around the import and the call, the call is raced against a timeout and the process's
 * exit, and the Python process is always stopped at the end.
 */
import type { ChildProcess } from "node:child_process";
import { execa } from "execa";
import { pythonPath } from "./python.js";

/** Why a call failed: Python did not start or import the module, did not answer in time, exited, or raised. */
export type PythonCallFailure = "start" | "timeout" | "exited" | "raised";

export class PythonCallError extends Error {
  constructor(message: string, readonly failure: PythonCallFailure, options?: ErrorOptions) {
    super(message, options);
    this.name = "PythonCallError";
  }
}

/** `module.fn(arg)` in `python`, within `timeoutMs`; its answer as a string. */
export async function callPython(
  python: string,
  module: string,
  fn: string,
  arg: string | null,
  timeoutMs: number,
): Promise<string> {
  const path = pythonPath(process.env) ?? "";
  const probe = await execa(python, ["-c", `import ${module}`], {
    env: { ...process.env, PYTHONPATH: path }, reject: false, timeout: timeoutMs,
  });
  if (probe.timedOut) throw new PythonCallError(`no answer from ${python} within ${timeoutMs / 1000} s`, "timeout");
  if (probe.failed) {
    const why = String(probe.stderr ?? "").trim().split("\n").pop() || (probe.shortMessage ?? "").split("\n")[0];
    throw new PythonCallError(`${python} cannot import ${module} (${why})`, "start");
  }
  const saved = { PYTHON_BIN: process.env.PYTHON_BIN, PYTHONPATH: process.env.PYTHONPATH, REQ_TIMEOUT: process.env.REQ_TIMEOUT };
  Object.assign(process.env, { PYTHON_BIN: python, PYTHONPATH: path, REQ_TIMEOUT: String(timeoutMs) });
  let timer: NodeJS.Timeout | undefined;
  let bridge: typeof import("pythonia") | undefined;
  try {
    bridge = await import("pythonia");
    const loaded = bridge;
    // pythonia exports its channel as `com` (not in its typings); its `proc` is the Python process.
    const child = (loaded as unknown as { com?: { proc?: ChildProcess | null } }).com?.proc;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PythonCallError(`no answer from ${python} within ${timeoutMs / 1000} s`, "timeout")), timeoutMs);
      child?.once("exit", (code, signal) =>
        reject(new PythonCallError(`${python} exited (${signal ?? `code ${code}`}) before answering`, "exited")));
    });
    const call = (async () => {
      const handle = await loaded.python(module);
      return String(await handle[fn](arg));
    })();
    call.catch(() => undefined);
    failed.catch(() => undefined);
    return await Promise.race([call, failed]);
  } catch (error) {
    if (error instanceof PythonCallError) throw error;
    throw new PythonCallError(`${module}.${fn} raised ${pythonErrorLine(error)}`, "raised", { cause: error });
  } finally {
    clearTimeout(timer);
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    try {
      bridge?.python.exit();
    } catch {
      // the Python process is already gone
    }
  }
}

/** The Python exception line of a pythonia error (its stack holds the formatted traceback). */
export function pythonErrorLine(error: unknown): string {
  const text = ((error as Error).stack ?? String(error)).replace(/\x1b\[[0-9;]*m/g, "");
  const line = text.split("\n").find((candidate) => /\b(\w+Error|Exception): /.test(candidate));
  return (line ?? (error as Error).message ?? String(error)).replace(/^(🌉|\*\*\* JS \*\*\*)\s*/, "").trim();
}
