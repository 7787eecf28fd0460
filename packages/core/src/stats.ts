import { ValidationError } from './errors';

/** Arithmetic mean; NaN for an empty input. */
export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return values.length ? s / values.length : Number.NaN;
}

/** Population (ddof = 0) or sample (ddof = 1) standard deviation. */
export function std(values: ArrayLike<number>, ddof = 0): number {
  const n = values.length;
  if (n - ddof <= 0) return Number.NaN;
  const m = mean(values);
  let s = 0;
  for (let i = 0; i < n; i++) s += (values[i]! - m) ** 2;
  return Math.sqrt(s / (n - ddof));
}

/** Ascending copy as a Float64Array. */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * The q-quantile (q in [0, 1]) with linear interpolation between order statistics, the default
 * of numpy's `percentile`/`quantile` (method "linear"). Pass `sorted` when the input is
 * already ascending to skip the sort.
 */
export function quantile(values: ArrayLike<number>, q: number, sorted = false): number {
  if (!(q >= 0 && q <= 1)) throw new ValidationError('q', 'a quantile in [0, 1]', q);
  if (values.length === 0) throw new ValidationError('values', 'at least one value', 0);
  const s = sorted ? values : sortedCopy(values);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = s[lo]!;
  const b = s[hi]!;
  return lo === hi ? a : a + (b - a) * (pos - lo);
}

export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/**
 * Index of the bin each value falls in, given ascending edges, like numpy's `digitize`
 * (right = false): 0 below edges[0], i when edges[i−1] ≤ v < edges[i], edges.length above.
 */
export function digitize(values: ArrayLike<number>, edges: ArrayLike<number>): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    let b = 0;
    while (b < edges.length && v >= edges[b]!) b++;
    out[i] = b;
  }
  return out;
}
