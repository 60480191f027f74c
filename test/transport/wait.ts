/** Polls `check` until it holds (or throws after `timeoutMs`, by default 10 s scaled by the load factor). */
import { scaled } from "../helpers/load.js";

export async function waitFor(check: () => boolean, timeoutMs = scaled(10_000), what = "a condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
