/**
 * The best result of an epoch so far, as results arrive in any order (docs/protocol.md,
 * step 4): a new finished result is kept while it is the best, the one it beats is
 * released. "Best" is the rule of docs/algorithm.md: the highest reward, the lowest
 * sample index on ties, so the last holder is `normalizeRewards(...).best`.
 */
export interface Offer {
  /** Whether the new result may still win the epoch (the `keep` answer). */
  keep: boolean;
  /** The sample whose kept result was beaten, if any. */
  released: number | null;
}

export class EpochBest {
  #sample: number | null = null;
  #reward = Number.NEGATIVE_INFINITY;

  get sample(): number | null {
    return this.#sample;
  }

  /** A finished sample's reward (finite); failed samples are never offered. */
  offer(sample: number, reward: number): Offer {
    if (!Number.isFinite(reward)) return { keep: false, released: null };
    const better = this.#sample === null || reward > this.#reward || (reward === this.#reward && sample < this.#sample);
    if (!better) return { keep: false, released: null };
    const released = this.#sample;
    this.#sample = sample;
    this.#reward = reward;
    return { keep: true, released };
  }
}
