/**
 * Installed where users work (docs/plug-in.md, "Install into your own project"): the npm
 * tarball (`npm pack`) and the Python wheel (`pip wheel python`) go into a fresh folder outside
 * the repository, with a fresh venv (torch, then the wheel with its `demo` extra, from the
 * package index), and the plug-in example's search runs from there with `npx amlfs`:
 *
 * - nothing of the checkout is reachable: no PYTHONPATH, no AMLFS_PROTO_DIR, the package has
 *   no python/ folder, and both sides read the schemas and the catalog they ship;
 * - `amlfs doctor` finds the npm packages beside the installed package and the wire schema
 *   inside the installed wheel;
 * - the search is a complete, consistent run (as in plugin-example.test.ts);
 * - without AMLFS_PYTHON the workers run `python3` from PATH, and a Python without amlfs
 *   fails the run and the doctor with the missing module named.
 *
 * The venv is fresh, not `--system-site-packages` over .venv: what the wheel declares is all
 * it gets. Slow (about a minute and a half on 2 idle cores, most of it pip installing torch
 * and the wheel's requirements), so the venv and the installs are made once for the file.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, join, relative } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../src/launch/python.js";
import { PROTOCOL_VERSION } from "../../src/schema/wire/messages.js";
import { checkFinishedRun } from "../helpers/check-journal.js";
import { scaled } from "../helpers/load.js";

/** The Python that makes venvs (the Makefile's PYTHON_BOOT) and the torch it installs first (its TORCH_SPEC). */
const PYTHON_BOOT = process.env.PYTHON_BOOT ?? "python3";
const TORCH_SPEC = process.env.TORCH_SPEC ?? "torch==2.13.0";
const EXAMPLE = join(REPO_ROOT, "examples", "plain-pytorch");

/** Null when a venv can be made here; else why not (Debian without python3-venv has no ensurepip). */
function probe(): string | null {
  try {
    execFileSync(PYTHON_BOOT, ["-c", "import venv, ensurepip"], { stdio: "pipe" });
    return null;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim().split("\n").at(-1);
    return `${PYTHON_BOOT} cannot make a venv with pip (${stderr || (error as Error).message})`;
  }
}
const SKIP_REASON = probe();

/** This process's environment without anything that points into the checkout or at a Python. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const dropped = new Set(["PYTHONPATH", "AMLFS_PYTHON", "AMLFS_PROTO_DIR", "AMLFS_WORKER_COMMAND", "VIRTUAL_ENV", "INIT_CWD"]);
  for (const [key, value] of Object.entries(process.env)) {
    if (!dropped.has(key) && !key.startsWith("npm_")) env[key] = value;
  }
  return { ...env, OMP_NUM_THREADS: "1", ...extra };
}

interface Installed {
  /** The user's project folder: node_modules/amlfs, .venv, train_amlfs.py, amlfs.json. */
  project: string;
  python: string;
  /** Where the installed amlfs lives and the wire schema it reads, as its own Python says. */
  amlfsFile: string;
  protoDir: string;
  /** A venv with neither torch nor amlfs, for the failure cases. */
  bare: string;
}

/**
 * Makes the project in a new temporary folder (about 1.3 GB, torch), which `made` learns first
 * so that it is removed afterwards even when an install fails.
 */
async function install(made: (root: string) => void): Promise<Installed> {
  const root = mkdtempSync(join(tmpdir(), "amlfs-outside-"));
  made(root);
  expect(relative(REPO_ROOT, root).startsWith("..")).toBe(true);
  const project = join(root, "project");
  mkdirSync(project);
  const run = (file: string, args: string[], cwd: string) =>
    execa(file, args, { cwd, env: userEnv(), extendEnv: false, timeout: scaled(480_000) });

  // The wheel, built from a copy of python/ (the build leaves build/ behind; the copy follows
  // the amlfs/_proto link to proto/, as a build in place does).
  const source = join(root, "source");
  cpSync(join(REPO_ROOT, "python"), source, {
    recursive: true,
    dereference: true,
    filter: (path) => !["build", "tests", "__pycache__", ".pytest_cache"].includes(basename(path)) && !path.endsWith(".egg-info"),
  });
  const python = join(project, ".venv", "bin", "python");
  await run(PYTHON_BOOT, ["-m", "venv", ".venv"], project);
  await run(python, ["-m", "pip", "wheel", "--no-deps", source, "-w", root], root);
  const wheel = join(root, readdirSync(root).find((name) => /^amlfs-.*\.whl$/.test(name)) ?? "no-wheel");
  await run("npm", ["pack", "--pack-destination", root], REPO_ROOT);
  const tarball = join(root, readdirSync(root).find((name) => /^amlfs-.*\.tgz$/.test(name)) ?? "no-tarball");

  // What docs/plug-in.md tells a user to run in their project.
  await run(python, ["-m", "pip", "install", TORCH_SPEC], project);
  await run(python, ["-m", "pip", "install", `${wheel}[demo]`], project);
  await run("npm", ["install", "--no-audit", "--no-fund", tarball], project);
  cpSync(join(EXAMPLE, "train_amlfs.py"), join(project, "train_amlfs.py"));
  const config = JSON.parse(readFileSync(join(EXAMPLE, "amlfs.json"), "utf8")) as { workers: { command: string[] } };
  config.workers.command = ["python", "train_amlfs.py", "--epochs", "3"];
  writeFileSync(join(project, "amlfs.json"), `${JSON.stringify(config, null, 2)}\n`);

  const bare = join(root, "bare");
  await run(PYTHON_BOOT, ["-m", "venv", "--without-pip", bare], root);
  const where = await run(python, ["-c", "import amlfs, amlfs.worker.plugin, amlfs.worker.wire as w; print(amlfs.__file__); print(w.proto_dir())"], project);
  const [amlfsFile = "", protoDir = ""] = where.stdout.trim().split("\n");
  return { project, python, amlfsFile, protoDir, bare };
}

describe.skipIf(SKIP_REASON !== null)(`amlfs installed outside the repository${SKIP_REASON === null ? "" : ` (skipped: ${SKIP_REASON})`}`, () => {
  let installed: Installed;
  let root: string | undefined;
  beforeAll(async () => {
    installed = await install((made) => { root = made; });
  }, scaled(600_000));
  // Deleting torch's thousands of files takes a while on a busy disk.
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  }, scaled(120_000));

  const amlfs = (args: string[], env: Record<string, string>) =>
    execa("npx", ["amlfs", ...args], { cwd: installed.project, env: userEnv(env), extendEnv: false, reject: false, timeout: scaled(170_000) });

  it("ships the schemas and the catalog on both sides, and nothing of the checkout", () => {
    const pkg = join(installed.project, "node_modules", "amlfs");
    for (const file of ["catalog.json", "experiment.schema.json", "wire.schema.json"]) {
      expect(readFileSync(join(pkg, "proto", file), "utf8")).toBe(readFileSync(join(REPO_ROOT, "proto", file), "utf8"));
    }
    expect(existsSync(join(pkg, "python"))).toBe(false); // else the launcher would put it on PYTHONPATH
    const sitePackages = join(installed.project, ".venv", "lib");
    expect(installed.amlfsFile.startsWith(sitePackages), installed.amlfsFile).toBe(true);
    expect(installed.protoDir).toBe(join(dirname(installed.amlfsFile), "_proto"));
    for (const file of ["catalog.json", "experiment.schema.json", "wire.schema.json"]) {
      expect(readFileSync(join(installed.protoDir, file), "utf8")).toBe(readFileSync(join(REPO_ROOT, "proto", file), "utf8"));
    }
  });

  it("passes `amlfs doctor` with AMLFS_PYTHON naming the venv", { timeout: scaled(180_000) }, async () => {
    const result = await amlfs(["doctor", "amlfs.json", "--json"], { AMLFS_PYTHON: installed.python });
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: { check: string; status: string; detail: string }[] };
    const failed = report.checks.filter((c) => c.status === "fail");
    expect(failed, result.stdout).toEqual([]);
    expect(result.exitCode).toBe(0);
    const status = (name: string) => report.checks.filter((c) => c.check === name).map((c) => c.status);
    expect(status("npm packages")).toEqual(["ok"]);
    const wire = report.checks.find((c) => c.check === "wire protocol");
    expect(wire?.detail).toBe(`version ${PROTOCOL_VERSION} on both sides (${installed.protoDir})`);
  });

  it("runs the plug-in example's search with `npx amlfs search amlfs.json`", { timeout: scaled(180_000) }, async () => {
    const result = await amlfs(["search", "amlfs.json", "--out", "run", "--json"], { AMLFS_PYTHON: installed.python });
    const out = join(installed.project, "run");
    const logs = join(out, "logs");
    const workerLogs = () => existsSync(logs)
      ? readdirSync(logs).filter((name) => /^w\d/.test(name)).map((name) => readFileSync(join(logs, name), "utf8"))
      : [];
    expect(result.exitCode, `${result.stderr}\n${workerLogs().join("\n").slice(-3000)}`).toBe(0);

    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; adapter?: string });
    const up = events.filter((event) => event.type === "worker-up");
    expect(up).toHaveLength(2);
    expect(up.every((event) => event.adapter === "plain-pytorch")).toBe(true);
    expect(readFileSync(join(logs, "controller.log"), "utf8")).toContain(`: ${installed.python} train_amlfs.py --epochs 3 --connect`);
    const prints = workerLogs().join("\n").match(/^epoch \d\/3: val accuracy \d\.\d{4}$/gm) ?? [];
    expect(prints).toHaveLength(12); // B = 4 samples x 3 epochs

    const run = checkFinishedRun(out); // init, epochs 0..2, final; thetas, mu and Adam recomputed
    expect(run.epochs).toHaveLength(3);
    for (const record of run.epochs) {
      expect(record.failures).toEqual([]);
      expect(record.rewards.every((reward) => reward !== null && reward >= 0 && reward <= 1)).toBe(true);
    }
    expect(run.final.metrics.top1).toBeGreaterThan(0.5);
  });

  it("without AMLFS_PYTHON runs python3 from PATH, and names what that Python lacks", { timeout: scaled(120_000) }, async () => {
    const PATH = `${join(installed.bare, "bin")}${delimiter}${process.env.PATH ?? ""}`;
    const search = await amlfs(["search", "amlfs.json", "--out", "run-bare"], { PATH });
    expect(search.exitCode).not.toBe(0);
    const log = readFileSync(join(installed.project, "run-bare", "logs", "controller.log"), "utf8");
    expect(log).toContain("started worker w0 (cpu, 1 threads): python3 train_amlfs.py --epochs 3 --connect");
    expect(search.stderr.trim().split("\n").at(-1)).toMatch(/^amlfs: no worker left: .*ModuleNotFoundError: No module named '(torch|amlfs)'/);

    const doctor = await amlfs(["doctor"], { PATH });
    expect(doctor.exitCode).toBe(1);
    expect(doctor.stdout).toMatch(/FAIL\s+python\s+\S*python3 cannot import amlfs\.doctor \(ModuleNotFoundError: No module named 'amlfs'\)/);
    expect(doctor.stdout).toContain("set AMLFS_PYTHON to a Python that has them");
  });
});
