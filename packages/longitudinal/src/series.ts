import { ValidationError } from '@anomalia/core';

/**
 * Shared input handling and result shapes. Values arrive as any `ArrayLike<number>` (arrays,
 * typed arrays); a NaN or infinite value is an error naming its index, because a silently dropped
 * fraction would shift every index a test reports (e.g. the fraction at which CUSUM fired).
 */

/** Returned instead of numbers when a test cannot run on so few points. Never NaN. */
export interface InsufficientData {
  readonly status: 'insufficient-data';
  /** Points the test could use. */
  readonly n: number;
  /** Points the test needs. */
  readonly required: number;
  /** e.g. `insufficient data: need ≥ 3 values, got 2`. */
  readonly reason: string;
}

/** A test's outcome: its numbers (`status: 'ok'`) or an explicit InsufficientData. */
export type TestOutcome<T> = ({ readonly status: 'ok' } & T) | InsufficientData;

export function insufficientData(n: number, required: number, what = 'values'): InsufficientData {
  return {
    status: 'insufficient-data',
    n,
    required,
    reason: `insufficient data: need ≥ ${required} ${what}, got ${n}`,
  };
}

/** Throws unless `values` is array-like and every element is a finite number; `field` names it in errors. */
export function assertFiniteSeries(values: ArrayLike<number>, field: string): void {
  if (values == null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new ValidationError(field, 'an array of finite numbers', values);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ValidationError(`${field}[${i}]`, 'a finite number', v);
    }
  }
}

/** Validated copy as a Float64Array. */
export function finiteSeries(values: ArrayLike<number>, field: string): Float64Array {
  assertFiniteSeries(values, field);
  return Float64Array.from(values);
}

/** Arithmetic mean and unbiased (ddof = 1) variance, two-pass for accuracy. */
export function meanAndVariance(x: ArrayLike<number>): { mean: number; variance: number } {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]!;
  const mean = s / n;
  let ss = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - mean;
    ss += d * d;
    c += d;
  }
  // Corrected two-pass (Chan, Golub & LeVeque): removes the rounding error left in `mean`.
  const variance = n > 1 ? Math.max(0, (ss - (c * c) / n) / (n - 1)) : 0;
  return { mean, variance };
}

/** Median of an already ascending array. */
export function sortedMedian(s: ArrayLike<number>): number {
  const n = s.length;
  const h = n >> 1;
  return n % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** Round half to even, as numpy's `round` (used where a reference rounds an index). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
