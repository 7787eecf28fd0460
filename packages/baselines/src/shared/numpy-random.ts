/**
 * The parts of numpy's legacy `RandomState` (MT19937) that scikit-learn's IsolationForest draws
 * from, reimplemented bit for bit: seeding with an integer, 32-bit outputs, `randint` by masked
 * rejection, `permutation` (Fisher–Yates with `random_interval`) and `uniform`. Only for
 * reproducing scikit-learn; Anomalia's own randomness is core's Rng.
 */
const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class NumpyRandomState {
  private readonly key = new Uint32Array(N);
  private pos = N;

  /** numpy.random.RandomState(seed) for an integer seed in [0, 2^32). */
  constructor(seed: number) {
    let s = seed >>> 0;
    for (let i = 0; i < N; i++) {
      this.key[i] = s;
      s = (Math.imul(1812433253, (s ^ (s >>> 30)) >>> 0) + i + 1) >>> 0;
    }
  }

  private generate(): void {
    const k = this.key;
    let i = 0;
    let y: number;
    for (; i < N - M; i++) {
      y = (k[i]! & UPPER_MASK) | (k[i + 1]! & LOWER_MASK);
      k[i] = k[i + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; i < N - 1; i++) {
      y = (k[i]! & UPPER_MASK) | (k[i + 1]! & LOWER_MASK);
      k[i] = k[i + M - N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    y = (k[N - 1]! & UPPER_MASK) | (k[0]! & LOWER_MASK);
    k[N - 1] = k[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.pos = 0;
  }

  /** The next 32-bit output (genrand_int32). */
  nextUint32(): number {
    if (this.pos === N) this.generate();
    let y = this.key[this.pos++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) from two outputs (random_sample). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Integers in [0, max] by masked rejection (random_interval and the 32-bit masked randint). */
  private bounded(max: number): number {
    if (max === 0) return 0;
    if (max > 0xffffffff) throw new RangeError('ranges above 2^32 are not needed here');
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do v = (this.nextUint32() & mask) >>> 0;
    while (v > max);
    return v;
  }

  /** randint(low, high): an integer in [low, high). */
  randint(low: number, high: number): number {
    return low + this.bounded(high - 1 - low);
  }

  /** permutation(n): a shuffled arange(n). */
  permutation(n: number): Int32Array {
    const a = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.bounded(i);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** uniform(size=n) on [0, 1). */
  uniform(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.random();
    return out;
  }
}

/**
 * scikit-learn's sample_without_replacement(n_population, n_samples, method="auto"): a
 * permutation prefix when 0.01 < ratio < 0.99, else tracking selection (ratio < 0.2) or
 * reservoir sampling, each drawing from `rng` exactly as scikit-learn does.
 */
export function sampleWithoutReplacement(
  population: number,
  samples: number,
  rng: NumpyRandomState,
): Int32Array {
  const ratio = population !== 0 ? samples / population : 1;
  if (ratio > 0.01 && ratio < 0.99) return rng.permutation(population).slice(0, samples);
  if (ratio < 0.2) {
    const out = new Int32Array(samples);
    const selected = new Set<number>();
    for (let i = 0; i < samples; i++) {
      let j = rng.randint(0, population);
      while (selected.has(j)) j = rng.randint(0, population);
      selected.add(j);
      out[i] = j;
    }
    return out;
  }
  const out = Int32Array.from({ length: samples }, (_, i) => i);
  for (let i = samples; i < population; i++) {
    const j = rng.randint(0, i + 1);
    if (j < samples) out[j] = i;
  }
  return out;
}
