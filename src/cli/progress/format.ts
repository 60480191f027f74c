/** Small formatting helpers of the progress output. */
import { formatNumber } from "../../report/numbers.js";
import { median } from "../../report/run-data.js";

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatMetrics(metrics: Record<string, number | null>): string {
  const entries = Object.entries(metrics);
  return entries.length === 0 ? "(no metrics)" : entries.map(([name, value]) => `${name} ${formatNumber(value)}`).join(", ");
}

/**
 * An epoch's rewards: min, median and max over the samples that have one (4 decimals),
 * prefixed by how many of B scored when some did not.
 */
export function formatRewards(rewards: readonly (number | null)[]): string {
  const scored = rewards.filter((reward): reward is number => reward !== null);
  if (scored.length === 0) return `no reward of ${rewards.length}`;
  const of = scored.length === rewards.length ? "" : ` (${scored.length} of ${rewards.length})`;
  if (scored.length === 1) return `reward${of} ${formatNumber(scored[0])}`;
  return `rewards${of} min ${formatNumber(Math.min(...scored))} median ${formatNumber(median(scored))} max ${formatNumber(Math.max(...scored))}`;
}

const MU_BLOCKS = ["a_t", "b_t", "a_tau", "b_tau"];

/**
 * mu = [a_t (M), b_t (M), a_tau (M), b_tau (M)] in a few columns: each block as its range
 * over the M intervals, "lo..hi" with 2 decimals, one number when they print alike.
 */
export function formatMu(mu: readonly number[]): string {
  const fixed = (value: number) => {
    const text = value.toFixed(2);
    return text === "-0.00" ? "0.00" : text;
  };
  const range = (values: readonly number[]) => {
    const low = fixed(Math.min(...values));
    const high = fixed(Math.max(...values));
    return low === high ? low : `${low}..${high}`;
  };
  if (mu.length === 0) return "(empty)";
  if (mu.length % 4 !== 0) return range(mu); // not 4M: no blocks to name
  const M = mu.length / 4;
  return MU_BLOCKS.map((name, block) => `${name} ${range(mu.slice(block * M, (block + 1) * M))}`).join("  ");
}
