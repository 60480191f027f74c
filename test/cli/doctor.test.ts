/**
 * `amlfs doctor` as a user runs it: a real process, the repository's .venv Python through
 * pythonia. A good config (digits: no files) passes with every check listed; a re-ID
 * config whose tree misses a folder, under launcher "slurm" without srun on PATH, fails
 * with the fixes; a missing or hanging Python fails quickly with its fix; a config that
 * does not validate is a config error (exit 2).
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { PROTOCOL_VERSION } from "../../src/schema/wire/messages.js";
import { scaled } from "../helpers/load.js";
import { ROOT, amlfs, writeConfig } from "./cli-process.js";

interface Check {
  check: string;
  status: "ok" | "info" | "warn" | "fail";
  detail: string;
  fix?: string;
}

const tempDir = () => mkdtempSync(join(tmpdir(), "amlfs-doctor-"));

/** A Market-1501 tree of empty files (doctor reads names, never pixels) without its query/ folder. */
function brokenMarketTree(): string {
  const root = tempDir();
  mkdirSync(join(root, "bounding_box_train"));
  mkdirSync(join(root, "bounding_box_test"));
  writeFileSync(join(root, "bounding_box_train", "0002_c1s1_000001_01.jpg"), "");
  writeFileSync(join(root, "bounding_box_test", "0003_c2s1_000002_01.jpg"), "");
  return root;
}

describe("amlfs doctor", () => {
  // The two runs that import torch start together: each takes seconds, more on a loaded
  // machine (the limit is scaled by the load factor measured at suite start).
  const marketRoot = brokenMarketTree();
  let good: Awaited<ReturnType<typeof amlfs>>;
  let broken: Awaited<ReturnType<typeof amlfs>>;
  beforeAll(async () => {
    const config = writeConfig({
      baseline: { name: "spherereid", options: { strict: false } },
      dataset: { kind: "market1501", root: marketRoot },
      workers: { count: 1, launcher: "slurm" },
      reward: { metric: "mAP" },
    });
    // AMLFS_PYTHON "" means unset: the repository's .venv; PATH without Slurm's programs.
    [good, broken] = await Promise.all([
      amlfs(["doctor", join(ROOT, "configs/demo/digits-amlfs.json"), "--json"], { AMLFS_PYTHON: "" }),
      amlfs(["doctor", config], { AMLFS_PYTHON: "", PATH: tempDir() }),
    ]);
  }, scaled(60_000));

  it("passes on the digits demo config and lists every check (--json)", () => {
    const result = good;
    expect(result.exitCode, result.all).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; config: string; checks: Check[]; python: Record<string, unknown> };
    expect(report.ok).toBe(true);
    expect(Object.keys(report).sort()).toEqual(["checks", "config", "ok", "python"]);
    const status = Object.fromEntries(report.checks.map((c) => [c.check, c.status]));
    for (const name of ["node", "npm packages", "zeromq.js", "python", "amlfs version", "torch", "pyzmq", "wire protocol", "dataset"]) {
      expect(status[name], name).toBe("ok");
    }
    for (const name of ["srun", "sinfo", "torchrun"]) expect(status[name], name).toMatch(/^(ok|info)$/);
    expect(report.checks.find((c) => c.check === "wire protocol")?.detail).toContain(`version ${PROTOCOL_VERSION} on both sides`);
    expect(report.checks.every((c) => c.status !== "fail" || c.fix !== undefined)).toBe(true);
    expect(report.python).toHaveProperty("dataset.kind", "digits");
  });

  it("fails on a broken re-ID tree and a Slurm launcher without srun, with the fixes (plain output)", () => {
    const result = broken;
    const root = marketRoot;
    expect(result.exitCode, result.all).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`FAIL +dataset layout +market1501: missing folder ${join(root, "query")}`));
    expect(result.stdout).toContain(`fix: extract the official archive so that ${join(root, "query")} exists`);
    expect(result.stdout).toMatch(/FAIL +srun +not on PATH, and workers.launcher is "slurm"/);
    expect(result.stdout).toContain('set workers.launcher to "local"');
    expect(result.stdout).toMatch(/ok +python +\d+\.\d+\.\d+ at /);
    expect(result.stdout).toMatch(/\n4 failed, 0 warning\(s\): see the fixes above\.$/);
  });

  it("fails quickly with `make setup` as the fix when the Python is missing, and times out on a hanging one", async () => {
    const dir = tempDir();
    const hanging = join(dir, "python");
    // Starts (`-c ...` exits 0) but never answers pythonia.
    writeFileSync(hanging, '#!/bin/sh\n[ "$1" = "-c" ] && exit 0\nexec sleep 60\n');
    chmodSync(hanging, 0o755);
    const [missing, hung] = await Promise.all([
      amlfs(["doctor", "--json"], { AMLFS_PYTHON: join(dir, "no-such-python") }),
      amlfs(["doctor", "--json"], { AMLFS_PYTHON: hanging, AMLFS_DOCTOR_TIMEOUT_MS: "1500" }),
    ]);
    const pythonCheck = (stdout: string) => (JSON.parse(stdout) as { checks: Check[] }).checks.find((c) => c.check === "python");
    expect(missing.exitCode, missing.all).toBe(1);
    expect(pythonCheck(missing.stdout)).toMatchObject({ status: "fail", detail: expect.stringContaining("no-such-python"), fix: expect.stringContaining("make setup") });
    expect(hung.exitCode, hung.all).toBe(1);
    expect(pythonCheck(hung.stdout)).toMatchObject({ status: "fail", detail: `no answer from ${hanging} within 1.5 s` });
  });

  it("reports a config that does not validate as a config error (exit 2), and has --help", async () => {
    let out = "";
    let err = "";
    const io = { out: (text: string) => (out += text), err: (text: string) => (err += text) };
    expect(await main(["doctor", writeConfig({ search: { B: 0 } })], io)).toBe(2);
    expect(err).toContain("search.B");
    expect(await main(["doctor", "a.json", "b.json"], io)).toBe(2);
    expect(err).toContain('doctor: unexpected argument "b.json"');
    expect(await main(["doctor", "--help"], io)).toBe(0);
    expect(out).toMatch(/Exit codes:\n  0 +no check failed[^]*\n  1 +at least one check failed/);
  });
});
