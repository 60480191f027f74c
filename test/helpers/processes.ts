/**
 * Processes found by their command line (Linux /proc): the workers of a run carry its
 * `--run-id`, so a test finds every one, including those that never said hello.
 */
import { readFileSync, readdirSync } from "node:fs";

/** Pids of the live processes whose arguments include `flag` followed by `value`. */
export function pidsWithArgument(flag: string, value: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // exited while we looked
    }
    if (args.some((arg, index) => arg === flag && args[index + 1] === value)) pids.push(Number(name));
  }
  return pids;
}
