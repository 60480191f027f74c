export { LaunchError } from "./errors.js";
export type { LaunchContext, Launcher, WorkerExit } from "./launcher.js";
export { LocalLauncher, type LocalLauncherOptions } from "./local.js";
export { detectCudaDevices, placeWorkers, type DevicesSetting, type WorkerPlacement } from "./devices.js";
export { REPO_ROOT, pythonPath, resolvePython } from "./python.js";
