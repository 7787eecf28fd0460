import { ValidationError } from './errors';

/**
 * The one seeded random number generator of Anomalia: xoshiro128** (Blackman & Vigna, 2018),
 * 128-bit state, period 2^128 − 1, seeded through SplitMix32 so that nearby seeds give
 * unrelated streams. Doubles use 53 random bits. All 32-bit arithmetic, so it is fast in JS.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number | string = 0) {
    let x = typeof seed === 'string' ? hashString(seed) : seedToUint32(seed);
    const next = () => {
      // SplitMix32 (a 32-bit variant of SplitMix64's finaliser).
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Restores a generator from `state()` exactly. */
  static fromState(state: readonly [number, number, number, number]): Rng {
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = state.map((v) => v >>> 0) as [number, number, number, number];
    return r;
  }

  state(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A double in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A double uniformly distributed in [low, high). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.random();
  }

  /** A normal deviate (Marsaglia's polar method; the second deviate of each pair is kept). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = this.random() * 2 - 1;
      v = this.random() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return mean + std * u * f;
  }

  /** An integer uniformly distributed in [low, high) (high exclusive, like numpy's `integers`). Unbiased. */
  integer(low: number, high: number): number {
    const range = high - low;
    if (!Number.isInteger(low) || !Number.isInteger(high) || range <= 0) {
      throw new ValidationError('integer(low, high)', 'integers with low < high', `${low}, ${high}`);
    }
    if (range <= 0x100000000) {
      // Rejection sampling on 32 bits: reject the top partial bucket so every value is equally likely.
      const limit = 0x100000000 - (0x100000000 % range);
      let x: number;
      do x = this.nextUint32();
      while (x >= limit);
      return low + (x % range);
    }
    if (range > Number.MAX_SAFE_INTEGER)
      throw new ValidationError('integer(low, high)', 'a range below 2^53', range);
    let x: number;
    const limit = Math.floor(9007199254740992 / range) * range;
    do x = Math.floor(this.random() * 9007199254740992);
    while (x >= limit);
    return low + (x % range);
  }

  /** Shuffles in place (Fisher–Yates) and returns the same array. */
  shuffle<T, A extends { length: number; [i: number]: T }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.integer(0, i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** A random permutation of 0..n−1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * k indices from 0..n−1. Without replacement (default) they are distinct, in random order
   * (Floyd's algorithm for small k, a partial shuffle otherwise); with replacement they are
   * independent draws.
   */
  sampleIndices(n: number, k: number, options: { replace?: boolean } = {}): Int32Array {
    if (!Number.isInteger(k) || k < 0) throw new ValidationError('k', 'a non-negative integer', k);
    const out = new Int32Array(k);
    if (options.replace) {
      if (n <= 0 && k > 0) throw new ValidationError('n', 'a positive population size', n);
      for (let i = 0; i < k; i++) out[i] = this.integer(0, n);
      return out;
    }
    if (k > n) throw new ValidationError('k', `at most n = ${n} when sampling without replacement`, k);
    if (k * 4 < n) {
      const chosen = new Set<number>();
      for (let j = n - k; j < n; j++) {
        const t = this.integer(0, j + 1);
        chosen.add(chosen.has(t) ? j : t);
      }
      let i = 0;
      for (const v of chosen) out[i++] = v;
      return this.shuffle(out);
    }
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = 0; i < k; i++) {
      const j = this.integer(i, n);
      const tmp = p[i]!;
      p[i] = p[j]!;
      p[j] = tmp;
    }
    out.set(p.subarray(0, k));
    return out;
  }

  /** k items drawn from `items`, optionally weighted (weights need not sum to 1). */
  choice<T>(
    items: readonly T[],
    k: number,
    options: { replace?: boolean; weights?: ArrayLike<number> } = {},
  ): T[] {
    const { weights } = options;
    if (!weights) return Array.from(this.sampleIndices(items.length, k, options), (i) => items[i]!);
    if (weights.length !== items.length) {
      throw new ValidationError('weights.length', `the number of items (${items.length})`, weights.length);
    }
    const w = Float64Array.from(weights);
    w.forEach((v, i) => {
      if (!(v >= 0) || !Number.isFinite(v))
        throw new ValidationError(`weights[${i}]`, 'a finite weight ≥ 0', v);
    });
    const out: T[] = [];
    for (let draw = 0; draw < k; draw++) {
      let total = 0;
      for (const v of w) total += v;
      if (total <= 0)
        throw new ValidationError('weights', 'enough positive weight for the requested draws', total);
      let target = this.random() * total;
      let idx = 0;
      while (idx < w.length - 1 && (target >= w[idx]! || w[idx] === 0)) {
        target -= w[idx]!;
        idx++;
      }
      out.push(items[idx]!);
      if (!options.replace) w[idx] = 0;
    }
    return out;
  }

  /** An independent generator derived from this one (for parallel streams, e.g. one per tree). */
  fork(): Rng {
    const r = new Rng(0);
    r.s0 = this.nextUint32();
    r.s1 = this.nextUint32();
    r.s2 = this.nextUint32();
    r.s3 = this.nextUint32();
    if ((r.s0 | r.s1 | r.s2 | r.s3) === 0) r.s0 = 1;
    return r;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function seedToUint32(seed: number): number {
  if (!Number.isFinite(seed)) throw new ValidationError('seed', 'a finite number or a string', seed);
  // Fold the integer part's high bits in, so seeds above 2^32 still differ.
  const hi = Math.floor(seed / 0x100000000);
  return (Math.trunc(seed) ^ Math.imul(hi, 0x27d4eb2d)) >>> 0;
}

function hashString(s: string): number {
  // FNV-1a, 32-bit.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
