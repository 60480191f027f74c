/** Task ids and task seeds (docs/protocol.md, "Details both sides rely on"). */
import { Rng } from "../search/index.js";

const TASK_SEED_STREAM_BASE = 2 ** 31;

/** `e0003-s01-a0`: epoch 3, sample 1, first attempt. */
export function trainTaskId(epoch: number, sample: number, attempt: number): string {
  return `e${String(epoch).padStart(4, "0")}-s${String(sample).padStart(2, "0")}-a${attempt}`;
}

/** `final-test-a0`: the evaluation of the final model on the test split. */
export function finalTaskId(attempt: number): string {
  return `final-test-a${attempt}`;
}

/**
 * The seed of every task of epoch `epoch`: the first output of the generator
 * (run seed, stream 2^31 + epoch). All samples of an epoch share it (common random
 * numbers), and a retry gets it again.
 */
export function taskSeed(runSeed: number, epoch: number): number {
  return Rng.create(runSeed, TASK_SEED_STREAM_BASE + epoch).nextUint32();
}
