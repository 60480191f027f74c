/**
 * `amlfs doctor [config]`: checks that this machine can run a search, and says how to fix
 * what it cannot. The TypeScript side checks Node.js, the npm packages against
 * package.json, zeromq.js (libzmq, CURVE) and the launcher's programs; the Python side
 * (python/amlfs/doctor.py, called through pythonia with the workers' Python) reports its
 * interpreter, packages, torch and CUDA devices, pyzmq, the wire protocol it reads and,
 * given a config, whether the dataset is in its expected layout. See docs/doctor.md.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, isAbsolute, join } from "node:path";
import { REPO_ROOT, resolvePython } from "../launch/python.js";
import { PythonCallError, callPython } from "../launch/pythonia.js";
import type { Experiment } from "../schema/index.js";
import { PROTOCOL_VERSION } from "../schema/wire/messages.js";
import { UsageError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { readConfigFile } from "./load-config.js";

export type Status = "ok" | "info" | "warn" | "fail";

export interface Check {
  check: string;
  status: Status;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  config: string | null;
  checks: Check[];
  /** What python/amlfs/doctor.py returned; null when it could not be asked. */
  python: PythonReport | null;
}

interface Problem {
  check: string;
  level: "fail" | "warn";
  problem: string;
  fix: string;
}

/** The JSON of `amlfs.doctor.doctor_json` (the fields read here). */
export interface PythonReport {
  environment: {
    python: { version: string; executable: string };
    packages: { amlfs: string | null; packages: Record<string, string | null> };
    torch: { version: string | null; cudaAvailable?: boolean; deviceCount?: number; devices?: string[] };
    zmq: { pyzmq: string | null; libzmq?: string; curve?: boolean };
    wire: { protocol: number | null; protoDir?: string };
    problems: Problem[];
  };
  dataset?: { kind: string | null; root: string | null; found: Record<string, unknown>; problems: Problem[] };
}

/** How long the Python side may take (importing torch on a cold file system is slow). */
export const DOCTOR_TIMEOUT_MS = 60_000;
const SETUP_FIX =
  "make setup (creates .venv with torch and the python/ package), or set AMLFS_PYTHON to a Python that has them";
const NPM_FIX = "npm ci (or: make setup)";
const SLURM_PROGRAMS = ["srun", "squeue", "scancel"] as const;

interface PackageJson {
  version: string;
  engines?: { node?: string };
  dependencies: Record<string, string>;
}

const item = (check: string, status: Status, detail: string, fix?: string): Check =>
  fix === undefined ? { check, status, detail } : { check, status, detail, fix };

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;

/** The first executable `name` on PATH (or `name` itself when it is a path), else null. */
export function findProgram(name: string, env: NodeJS.ProcessEnv = process.env, extraDirs: string[] = []): string | null {
  const dirs = [...(env.PATH ?? "").split(delimiter), ...extraDirs].filter((dir) => dir !== "");
  const candidates = isAbsolute(name) || name.includes("/") ? [name] : dirs.map((dir) => join(dir, name));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here: try the next one
    }
  }
  return null;
}

/**
 * The package.json of dependency `name` as Node finds it from here: in this checkout's
 * node_modules, or (amlfs installed from its tarball) in the node_modules beside it, where
 * npm puts the dependencies. Not `require.resolve`, which a package's `exports` may refuse.
 */
function installedPackageJson(name: string): string | null {
  const dirs = createRequire(import.meta.url).resolve.paths(name) ?? [];
  return dirs.map((dir) => join(dir, name, "package.json")).find((path) => existsSync(path)) ?? null;
}

function nodeChecks(pkg: PackageJson): Check[] {
  const wanted = pkg.engines?.node ?? ">=20";
  const need = Number(/\d+/.exec(wanted)?.[0] ?? "20");
  const major = Number(process.versions.node.split(".")[0]);
  const node = major >= need
    ? item("node", "ok", `${process.versions.node} (package.json engines: ${wanted})`)
    : item("node", "fail", `${process.versions.node}, package.json needs ${wanted}`,
        `install Node.js ${need} or later (https://nodejs.org), then ${NPM_FIX}`);
  const found: string[] = [];
  const checks: Check[] = [node];
  for (const [name, pinned] of Object.entries(pkg.dependencies)) {
    const path = installedPackageJson(name);
    if (path === null) {
      checks.push(item("npm packages", "fail", `${name} is not installed (package.json: ${pinned})`, NPM_FIX));
      continue;
    }
    const version = readJson<{ version: string }>(path).version;
    if (version !== pinned.replace(/^[\^~=]/, "")) {
      checks.push(item("npm packages", "warn", `${name} ${version} is installed, package.json pins ${pinned}`, NPM_FIX));
    } else {
      found.push(`${name} ${version}`);
    }
  }
  if (found.length > 0) checks.splice(1, 0, item("npm packages", "ok", `${found.join(", ")} (as in package.json)`));
  return checks;
}

async function zeromqCheck(): Promise<{ check: Check; libzmq: string | null }> {
  try {
    const zmq = await import("zeromq");
    const curve = zmq.capability.curve === true;
    return {
      libzmq: zmq.version,
      check: curve
        ? item("zeromq.js", "ok", `libzmq ${zmq.version}, CURVE yes`)
        : item("zeromq.js", "warn", `libzmq ${zmq.version} without CURVE: workers on other hosts cannot use encrypted TCP`,
            "npm rebuild zeromq (the prebuilt binaries of zeromq 6 include CURVE)"),
    };
  } catch (error) {
    const message = `cannot load zeromq: ${(error as Error).message}`;
    return { libzmq: null, check: item("zeromq.js", "fail", message, `npm rebuild zeromq, or ${NPM_FIX}`) };
  }
}

/** Calls amlfs.doctor.doctor_json through pythonia, with `python`, within `timeoutMs`. */
async function askPython(python: string, experiment: Experiment | undefined, timeoutMs: number): Promise<PythonReport> {
  const arg = experiment === undefined ? null : JSON.stringify(experiment);
  return JSON.parse(await callPython(python, "amlfs.doctor", "doctor_json", arg, timeoutMs)) as PythonReport;
}

function pythonChecks(report: PythonReport, pkg: PackageJson, libzmqTs: string | null): Check[] {
  const env = report.environment;
  const checks = [item("python", "ok", `${env.python.version} at ${env.python.executable}`)];
  const own = env.packages.amlfs;
  if (own !== null) {
    checks.push(own === pkg.version
      ? item("amlfs version", "ok", `${own} on both sides`)
      : item("amlfs version", "warn", `python package ${own}, npm package ${pkg.version}`,
          `install the amlfs Python package of version ${pkg.version} into ${env.python.executable} ` +
            "(in a checkout: pip install -e python)"));
  }
  const versions = Object.entries(env.packages.packages).filter(([, v]) => v !== null);
  checks.push(item("python packages", "info", versions.map(([name, v]) => `${name} ${v}`).join(", ")));
  if (env.torch.version !== null) {
    const devices = env.torch.cudaAvailable === true
      ? `${env.torch.deviceCount} CUDA device(s): ${(env.torch.devices ?? []).join(", ")}`
      : "CUDA not available (CPU workers)";
    checks.push(item("torch", "ok", `${env.torch.version}, ${devices}`));
  }
  if (env.zmq.pyzmq !== null && env.zmq.curve === true) {
    checks.push(item("pyzmq", "ok", `${env.zmq.pyzmq}, libzmq ${env.zmq.libzmq}, CURVE yes`));
  }
  const minor = (v: string | null | undefined) => v?.split(".").slice(0, 2).join(".");
  if (libzmqTs !== null && env.zmq.libzmq !== undefined) {
    const both = `${libzmqTs} (zeromq.js) and ${env.zmq.libzmq} (pyzmq)`;
    checks.push(minor(libzmqTs) === minor(env.zmq.libzmq)
      ? item("libzmq", "ok", both)
      : item("libzmq", "warn", `${both} differ; ZMTP 3 keeps them compatible, but tests ran with equal versions`,
          `${env.python.executable} -m pip install --upgrade pyzmq`));
  }
  if (env.wire.protocol !== null) {
    checks.push(env.wire.protocol === PROTOCOL_VERSION
      ? item("wire protocol", "ok", `version ${PROTOCOL_VERSION} on both sides (${env.wire.protoDir})`)
      : item("wire protocol", "fail",
          `controller speaks version ${PROTOCOL_VERSION}, workers read version ${env.wire.protocol} from ` +
            `${env.wire.protoDir}/wire.schema.json`,
          "install the amlfs Python package of the npm package's version (in a checkout: npm run proto, which " +
            "regenerates proto/ from src/schema); unset AMLFS_PROTO_DIR if it points at another copy"));
  }
  return [...checks, ...env.problems.map(fromProblem)];
}

const fromProblem = (p: Problem): Check => item(p.check, p.level, p.problem, p.fix);

function launcherChecks(config: Experiment | undefined, python: string | null, env: NodeJS.ProcessEnv): Check[] {
  const launcher = config?.workers.launcher;
  const checks: Check[] = [];
  for (const name of [...SLURM_PROGRAMS, "sinfo"]) {
    const found = findProgram(name, env);
    const needed = launcher === "slurm" && (SLURM_PROGRAMS as readonly string[]).includes(name);
    if (needed && found === null) {
      checks.push(item(name, "fail", 'not on PATH, and workers.launcher is "slurm"',
        'run amlfs on a Slurm login node or inside an allocation (add Slurm\'s bin folder to PATH), or set workers.launcher to "local"'));
    } else {
      checks.push(item(name, needed ? "ok" : "info", found ?? 'not found (needed only for workers.launcher "slurm")'));
    }
  }
  // The torchrun launcher runs `<python> -m torch.distributed.run`: torch (checked above) is all it needs.
  const runner = `${python ?? "python"} -m torch.distributed.run`;
  checks.push(item("torchrun", launcher === "torchrun" ? "ok" : "info", `started as ${runner} (needs only torch)`));
  return checks;
}

/** Explicit CUDA devices of a local run must exist in the workers' torch. */
function deviceChecks(config: Experiment, report: PythonReport): Check[] {
  const devices = config.workers.devices;
  const torch = report.environment.torch;
  if (!Array.isArray(devices) || config.workers.launcher !== "local" || torch.version === null) return [];
  const count = torch.cudaAvailable === true ? (torch.deviceCount ?? 0) : 0;
  const missing = devices.filter((d) => d.startsWith("cuda:") && Number(d.slice(5)) >= count);
  if (missing.length === 0) return [item("devices", "ok", devices.join(", "))];
  return [item("devices", "fail", `workers.devices names ${missing.join(", ")}, torch sees ${count} CUDA device(s)`,
    'set workers.devices to "auto" or "cpu", or install a CUDA build of torch into the workers\' Python')];
}

function datasetChecks(report: PythonReport): Check[] {
  const dataset = report.dataset;
  if (dataset === undefined) return [];
  if (dataset.problems.length > 0) return dataset.problems.map(fromProblem);
  const found = Object.entries(dataset.found).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
  const where = dataset.root ? ` at ${dataset.root}` : "";
  return [item("dataset", "ok", `${dataset.kind}${where} (${found.join("; ")})`)];
}

/**
 * Every check; `config` (already validated) adds the launcher, device and dataset checks.
 * Reads process.env (pythonia's Python inherits it); `timeoutMs` defaults to
 * $AMLFS_DOCTOR_TIMEOUT_MS, else DOCTOR_TIMEOUT_MS.
 */
export async function runDoctor(
  config: Experiment | undefined,
  configPath: string | null,
  options: { timeoutMs?: number } = {},
): Promise<DoctorReport> {
  const env = process.env;
  const timeoutMs = options.timeoutMs ?? (Number(env.AMLFS_DOCTOR_TIMEOUT_MS) || DOCTOR_TIMEOUT_MS);
  const pkg = readJson<PackageJson>(join(REPO_ROOT, "package.json"));
  const checks = nodeChecks(pkg);
  const zeromq = await zeromqCheck();
  checks.push(zeromq.check);
  const wanted = resolvePython(env);
  const python = findProgram(wanted, env);
  let report: PythonReport | null = null;
  if (python === null) {
    const why = env.AMLFS_PYTHON ? "AMLFS_PYTHON" : "no .venv in the repository, and not on PATH";
    checks.push(item("python", "fail", `no Python at ${JSON.stringify(wanted)} (${why})`, SETUP_FIX));
  } else {
    try {
      report = await askPython(python, config, timeoutMs);
    } catch (error) {
      if (!(error instanceof PythonCallError)) throw error;
      const detail = error.failure === "raised" ? `${python}: ${error.message}` : error.message;
      const slow = `check that \`${python} -c "import amlfs.doctor, torch"\` finishes; ` +
        `set AMLFS_DOCTOR_TIMEOUT_MS (now ${timeoutMs}) for a slow file system`;
      checks.push(item("python", "fail", detail, error.failure === "timeout" ? slow : SETUP_FIX));
    }
  }
  if (report !== null) checks.push(...pythonChecks(report, pkg, zeromq.libzmq));
  if (env.AMLFS_WORKER_COMMAND) {
    const detail = `workers start with AMLFS_WORKER_COMMAND=${env.AMLFS_WORKER_COMMAND}; the Python checks used ${python ?? wanted}`;
    checks.push(item("worker command", "info", detail));
  }
  checks.push(...launcherChecks(config, python, env));
  if (config !== undefined && report !== null) checks.push(...deviceChecks(config, report), ...datasetChecks(report));
  return { ok: checks.every((c) => c.status !== "fail"), config: configPath, checks, python: report };
}

const LABEL: Record<Status, string> = { ok: "ok  ", info: "info", warn: "warn", fail: "FAIL" };

/** The readable checklist: one line per check, its fix under it. */
export function formatDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.check.length));
  const lines = [`amlfs doctor${report.config === null ? "" : `: ${report.config}`}`];
  for (const c of report.checks) {
    lines.push(`  ${LABEL[c.status]}  ${c.check.padEnd(width)}  ${c.detail}`);
    if (c.fix !== undefined) lines.push(`        ${" ".repeat(width)}  fix: ${c.fix}`);
  }
  const count = (status: Status) => report.checks.filter((c) => c.status === status).length;
  const failures = count("fail");
  const warnings = count("warn");
  const summary = `${failures} failed, ${warnings} warning(s): see the fixes above.`;
  lines.push(failures + warnings === 0 ? "All checks passed." : summary);
  return `${lines.join("\n")}\n`;
}

/** `amlfs doctor [config] [--json]`: exit 0 when no check failed, 1 otherwise (config errors: 2, thrown). */
export async function doctorCommand(
  positionals: readonly string[],
  options: { json: boolean },
  io: { out: (text: string) => void },
): Promise<number> {
  if (positionals.length > 1) {
    throw new UsageError(`doctor: unexpected argument ${JSON.stringify(positionals[1])}`, "doctor");
  }
  const path = positionals[0];
  const config = path === undefined ? undefined : await readConfigFile(path);
  const report = await runDoctor(config, path ?? null);
  io.out(options.json ? `${JSON.stringify(report)}\n` : formatDoctor(report));
  return report.ok ? EXIT.ok : EXIT.runFailed;
}
