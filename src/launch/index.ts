export { LaunchError } from "./errors.js";
export type { LaunchContext, Launcher, WorkerExit } from "./launcher.js";
export { ProcessLauncher, type ProcessLauncherOptions } from "./process-launcher.js";
export { LocalLauncher, type LocalLauncherOptions } from "./local.js";
export { TorchrunLauncher, DEFAULT_PROCS_PER_WORKER, type TorchrunLauncherOptions, type TorchrunSettings } from "./torchrun.js";
export { SlurmLauncher, advertisedEndpoint, type SlurmLauncherOptions, type SlurmSettings } from "./slurm.js";
export { detectCudaDevices, placeWorkers, type DevicesSetting, type WorkerPlacement } from "./devices.js";
export { REPO_ROOT, pythonPath, resolvePython } from "./python.js";
