/** Runs `bin/amlfs.mjs` as a real process, with the TypeScript fake worker as its worker command. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(ROOT, "bin", "amlfs.mjs");
export const FAKE_WORKER_COMMAND = JSON.stringify([process.execPath, "--import", "tsx", join(ROOT, "test/helpers/fake-worker-main.ts")]);

export function writeConfig(fields: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "amlfs-cli-"));
  const path = join(dir, "config.json");
  const config = {
    name: "cli-fake",
    seed: 11,
    baseline: { name: "small-cnn" },
    dataset: { kind: "digits" },
    search: { B: 3, epochs: 3, M: 2 },
    workers: { count: 2, heartbeatTimeoutMs: 2000 },
    reward: { metric: "top1" },
    ...fields,
  };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

export function amlfs(args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; cwd: string; env: Record<string, string>; all: true }> {
  return execa(process.execPath, [BIN, ...args], {
    reject: false,
    cwd: ROOT,
    env: { AMLFS_WORKER_COMMAND: FAKE_WORKER_COMMAND, ...env },
    all: true,
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
