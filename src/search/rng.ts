/**
 * The seeded generator of the search: xoshiro128** (Blackman and Vigna, 2018), a
 * 32-bit generator with 128 bits of state, seeded by SplitMix64 (docs/algorithm.md,
 * "Random numbers"). A generator is named by (seed, stream), both unsigned 32-bit
 * integers; the SplitMix64 state starts at seed * 2^32 + stream and its first two
 * outputs z0, z1 give the state [lo32(z0), hi32(z0), lo32(z1), hi32(z1)].
 *
 * uniform() in [0, 1) takes 53 bits from two outputs; normal() is Box-Muller with one
 * value per two uniforms. The integer outputs are identical everywhere.
 */
import { SearchInputError, describeValue } from "./errors.js";
import { requireUint32 } from "./validate.js";

export type RngState = [number, number, number, number];

const MASK64 = (1n << 64n) - 1n;
const TWO_POW_26 = 2 ** 26;
const TWO_POW_53 = 2 ** 53;

/** One SplitMix64 step (Steele, Lea and Flood, 2014): the advanced state and its output. */
function splitMix64(state: bigint): { state: bigint; output: bigint } {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return { state: next, output: z ^ (z >> 31n) };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Rng {
  readonly #s: Uint32Array;

  private constructor(state: Uint32Array) {
    this.#s = state;
  }

  /** The generator for (seed, stream); errors name `seed` or `stream`. */
  static create(seed: number, stream: number): Rng {
    requireUint32("seed", seed);
    requireUint32("stream", stream);
    const first = splitMix64((BigInt(seed) << 32n) | BigInt(stream));
    const second = splitMix64(first.state);
    const lo32 = (z: bigint): number => Number(z & 0xffffffffn);
    const hi32 = (z: bigint): number => Number(z >> 32n);
    return new Rng(
      Uint32Array.of(lo32(first.output), hi32(first.output), lo32(second.output), hi32(second.output)),
    );
  }

  /** Resumes a generator from `state()`; the all-zero state is not a state of xoshiro. */
  static fromState(state: readonly number[]): Rng {
    if (!Array.isArray(state) || state.length !== 4) {
      throw new SearchInputError("state", `\`state\` must be 4 unsigned 32-bit integers, got ${describeValue(state)}`);
    }
    state.forEach((word, index) => requireUint32(`state[${index}]`, word));
    if (state.every((word) => word === 0)) {
      throw new SearchInputError("state", "`state` must not be all zeros (xoshiro128** would only output zeros)");
    }
    return new Rng(Uint32Array.from(state));
  }

  /** The four state words, plain numbers, JSON-serializable. */
  state(): RngState {
    const s = this.#s;
    return [s[0] as number, s[1] as number, s[2] as number, s[3] as number];
  }

  /** The next xoshiro128** output, an unsigned 32-bit integer. */
  nextUint32(): number {
    const s = this.#s;
    const s0 = s[0] as number;
    const s1 = s[1] as number;
    const s2 = s[2] as number;
    const s3 = s[3] as number;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3 >>> 0, 11);
    return result;
  }

  /** A float64 in [0, 1) from 53 random bits: high 27 bits from the first output. */
  uniform(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * TWO_POW_26 + low) / TWO_POW_53;
  }

  /** A standard normal by Box-Muller, one value per two uniforms. */
  normal(): number {
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
