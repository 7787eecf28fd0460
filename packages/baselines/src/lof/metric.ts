/**
 * Minkowski distances on rows of row-major arrays. Searches compare "reduced" distances
 * (Σ|a−b|^p without the root: the squared distance for euclidean), computed in feature order
 * exactly like scikit-learn's tree metrics, and take the root only at the end.
 */
export interface Metric {
  readonly name: 'euclidean' | 'manhattan' | 'minkowski';
  /** The Minkowski power (2 for euclidean, 1 for manhattan). */
  readonly p: number;
  reduced(a: Float64Array, ia: number, b: Float64Array, ib: number, d: number): number;
  toDistance(reduced: number): number;
  toReduced(distance: number): number;
}

const euclidean: Metric = {
  name: 'euclidean',
  p: 2,
  reduced(a, ia, b, ib, d) {
    // Unrolled by four with one accumulator: the same sequential order of additions.
    let s = 0;
    let k = 0;
    for (; k + 4 <= d; k += 4) {
      const t0 = a[ia + k]! - b[ib + k]!;
      const t1 = a[ia + k + 1]! - b[ib + k + 1]!;
      const t2 = a[ia + k + 2]! - b[ib + k + 2]!;
      const t3 = a[ia + k + 3]! - b[ib + k + 3]!;
      s += t0 * t0;
      s += t1 * t1;
      s += t2 * t2;
      s += t3 * t3;
    }
    for (; k < d; k++) {
      const t = a[ia + k]! - b[ib + k]!;
      s += t * t;
    }
    return s;
  },
  toDistance: Math.sqrt,
  toReduced: (x) => x * x,
};

const manhattan: Metric = {
  name: 'manhattan',
  p: 1,
  reduced(a, ia, b, ib, d) {
    let s = 0;
    for (let k = 0; k < d; k++) s += Math.abs(a[ia + k]! - b[ib + k]!);
    return s;
  },
  toDistance: (x) => x,
  toReduced: (x) => x,
};

function minkowski(p: number): Metric {
  const inv = 1 / p;
  return {
    name: 'minkowski',
    p,
    reduced(a, ia, b, ib, d) {
      let s = 0;
      for (let k = 0; k < d; k++) s += Math.abs(a[ia + k]! - b[ib + k]!) ** p;
      return s;
    },
    toDistance: (x) => x ** inv,
    toReduced: (x) => x ** p,
  };
}

/** The metric for a name and power; Minkowski with p = 1 or 2 is the manhattan or euclidean metric. */
export function createMetric(name: Metric['name'], p = 2): Metric {
  if (name === 'euclidean' || (name === 'minkowski' && p === 2)) return euclidean;
  if (name === 'manhattan' || (name === 'minkowski' && p === 1)) return manhattan;
  return minkowski(p);
}
