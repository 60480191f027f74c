/**
 * Fault injection (docs/faults.md, case e): the run directory on a full disk and on a
 * read-only one, with `amlfs` as a real process. The directory is a small tmpfs (mounted
 * as root; the case skips and says why where mounting is not permitted). Checks: the
 * run stops with exit code 1 and an error naming the path and the cause, nothing is
 * half-written (complete journal lines, no temporary or partial files, every checkpoint
 * verified), and once space (or write access) returns, `amlfs resume` ends where an
 * undisturbed run ends.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { amlfs, writeConfig } from "../cli/cli-process.js";
import { followJsonLines } from "../helpers/json-lines.js";
import { caseTimeoutMs, expectNothingPartial, expectSameResult, newRunDir, report } from "./faults.js";

// Checkpoints of ~320 KB (40,000 float64): a 1 MiB disk holds about three of them.
const ENV = { FAKE_WORKER: JSON.stringify({ stateSize: 40_000, taskMs: 50 }) };
const config = writeConfig({ name: "faults-disk", seed: 3, search: { B: 3, epochs: 4, M: 2 } });
const mounts: string[] = [];

function mount(sizeMiB: number): string | Error {
  const dir = mkdtempSync(join(tmpdir(), "amlfs-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", dir], { stdio: "pipe" });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return new Error(`cannot mount a tmpfs (needs root and CAP_SYS_ADMIN): ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`);
  }
  mounts.push(dir);
  return dir;
}

const remount = (dir: string, options: string) => execFileSync("mount", ["-o", `remount,${options}`, dir], { stdio: "pipe" });

afterEach(() => {
  for (const dir of mounts.splice(0)) {
    try {
      execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      if (dir.includes("amlfs-disk-")) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Left for the system's tmp cleaning; the test's result does not depend on it.
    }
  }
});

let referenceDir = "";

beforeAll(async () => {
  referenceDir = newRunDir();
  const result = await amlfs(["search", config, "--out", referenceDir], ENV);
  expect(result.exitCode, result.all).toBe(0);
}, caseTimeoutMs(60_000));

describe("faults: the run directory on a full or read-only disk", () => {
  it("a full disk stops the run with an error naming the path; resume finishes once space returns", async (context) => {
    const disk = mount(1);
    if (disk instanceof Error) {
      report("tried to mount a tmpfs for the run directory", `skipped: ${disk.message}`);
      return context.skip(disk.message);
    }
    const out = join(disk, "run");
    const result = await amlfs(["search", config, "--out", out], ENV);
    expect(result.exitCode, result.all).toBe(1);
    expect(result.stderr).toMatch(/ENOSPC|no space left/i);
    expect(result.stderr).toContain(out);
    expectNothingPartial(out, "after ENOSPC");
    remount(disk, "size=64m");
    const resumed = await amlfs(["resume", out], ENV);
    expect(resumed.exitCode, resumed.all).toBe(0);
    expectSameResult(out, referenceDir, "resumed after ENOSPC");
    expectNothingPartial(out, "resumed after ENOSPC");
    report(
      "amlfs search with the run directory on a 1 MiB tmpfs (checkpoints of 320 KB), then remount at 64 MiB and amlfs resume",
      `exit 1 with "${firstLine(result.stderr)}"; journal lines complete, no .tmp/.part file, checkpoints verified; resumed run equals the undisturbed one`,
    );
  }, caseTimeoutMs(60_000));

  it("a run directory that turns read-only mid-run stops the run with an error naming the path; resume finishes once writable", async (context) => {
    // A read-only bind mount of the run directory over itself (a tmpfs cannot be remounted
    // read-only while the workers' log files are open for writing).
    const out = newRunDir();
    const child = amlfs(["search", config, "--out", out, "--json"], ENV);
    let frozen: true | Error | null = null;
    followJsonLines(child.stdout, (event) => {
      if (frozen === null && event.type === "checkpoint-stored" && event.epoch === 0) {
        try {
          execFileSync("mount", ["--bind", out, out], { stdio: "pipe" });
          mounts.push(out);
          // "busy" while the controller has a file open for writing through the new mount (an atomic write): try again.
          for (let attempt = 0; ; attempt++) {
            try {
              remount(out, "bind,ro");
              break;
            } catch (error) {
              if (attempt >= 100) throw error;
            }
          }
          frozen = true;
        } catch (error) {
          frozen = new Error(`cannot make a read-only bind mount: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`);
          child.kill("SIGKILL");
        }
      }
    });
    const result = await child;
    const state = frozen as true | Error | null;
    if (state instanceof Error) {
      report("tried a read-only bind mount of the run directory", `skipped: ${state.message}`);
      return context.skip(state.message);
    }
    expect(state).toBe(true);
    expect(result.exitCode, result.all).toBe(1);
    const end = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; message?: string; resumable?: boolean }).find((e) => e.type === "run-end");
    expect(end?.message).toMatch(/EROFS|read-only/i);
    expect(end?.message).toContain(out);
    expect(end?.resumable).toBe(true);
    execFileSync("umount", [out], { stdio: "pipe" });
    mounts.splice(mounts.indexOf(out), 1);
    expectNothingPartial(out, "after EROFS", { atomicLeftovers: true });
    const resumed = await amlfs(["resume", out], ENV);
    expect(resumed.exitCode, resumed.all).toBe(0);
    expectSameResult(out, referenceDir, "resumed after EROFS");
    expectNothingPartial(out, "resumed after EROFS");
    report(
      "made the run directory a read-only bind mount right after w_1 was stored, later unmounted it and ran amlfs resume",
      `exit 1, run-end message "${end?.message?.slice(0, 140)}", resumable; nothing half-written; resumed run equals the undisturbed one`,
    );
  }, caseTimeoutMs(60_000));

  it("a read-only disk refuses a new run at once, naming the path, and leaves nothing", async (context) => {
    const disk = mount(1);
    if (disk instanceof Error) {
      report("tried to mount a tmpfs for the run directory", `skipped: ${disk.message}`);
      return context.skip(disk.message);
    }
    remount(disk, "ro");
    const out = join(disk, "run");
    const result = await amlfs(["search", config, "--out", out], ENV);
    expect(result.exitCode, result.all).not.toBe(0);
    expect(result.stderr).toMatch(/EROFS|read-only/i);
    expect(result.stderr).toContain(out);
    expect(readdirSync(disk)).toEqual([]);
    report("amlfs search --out on a read-only tmpfs", `exit ${result.exitCode} with "${firstLine(result.stderr)}"; nothing created`);
  }, caseTimeoutMs(30_000));
});

function firstLine(text: string): string {
  return (text.trim().split("\n")[0] ?? "").slice(0, 160);
}

