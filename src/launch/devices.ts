/**
 * Devices and threads of local workers: one worker per CUDA device when the config names
 * devices (or "auto" finds GPUs), else CPU workers with max(1, floor(cpus / W)) threads
 * each (or workers.threadsPerWorker), so W workers do not oversubscribe the cores.
 */
import { availableParallelism } from "node:os";
import { execa } from "execa";
import { LaunchError } from "./errors.js";

export type DevicesSetting = "auto" | "cpu" | string[];

export interface WorkerPlacement {
  device: string;
  threads: number;
}

/** Number of visible CUDA devices: CUDA_VISIBLE_DEVICES when set, else `nvidia-smi -L`. */
export async function detectCudaDevices(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) {
    const ids = visible.split(",").map((id) => id.trim()).filter((id) => id !== "");
    const cut = ids.findIndex((id) => id.startsWith("-"));
    return cut < 0 ? ids.length : cut;
  }
  try {
    const { stdout } = await execa("nvidia-smi", ["-L"], { timeout: 10_000 });
    return stdout.split("\n").filter((line) => line.startsWith("GPU ")).length;
  } catch {
    return 0;
  }
}

export function placeWorkers(
  setting: DevicesSetting,
  count: number,
  cudaDevices: number,
  options: { threadsPerWorker?: number | undefined; cpus?: number } = {},
): WorkerPlacement[] {
  if (!Number.isInteger(count) || count < 1) throw new LaunchError(`workers.count must be an integer >= 1, got ${count}`);
  let devices: string[];
  if (Array.isArray(setting)) {
    if (setting.length === 0) throw new LaunchError("workers.devices must name at least one device, got []");
    devices = Array.from({ length: count }, (_, i) => setting[i % setting.length] as string);
  } else if (setting === "auto" && cudaDevices > 0) {
    devices = Array.from({ length: count }, (_, i) => `cuda:${i % cudaDevices}`);
  } else {
    devices = Array<string>(count).fill("cpu");
  }
  const cpus = options.cpus ?? availableParallelism();
  const threads = options.threadsPerWorker ?? Math.max(1, Math.floor(cpus / count));
  return devices.map((device) => ({ device, threads }));
}
