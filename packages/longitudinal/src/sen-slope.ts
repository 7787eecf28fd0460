import { parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';
import { standardNormalQuantile } from './distributions';
import {
  assertFiniteSeries,
  insufficientData,
  roundHalfEven,
  sortedMedian,
  type TestOutcome,
} from './series';

/**
 * Theil–Sen slope (Theil 1950; Sen 1968): the median of the pairwise slopes (yⱼ − yᵢ)/(tⱼ − tᵢ)
 * over pairs with tⱼ > tᵢ; the intercept is median(y) − slope·median(t) (Conover's line). The
 * confidence interval is Sen's (1968, eq. 2.6): with N slopes and Var(S) the Mann–Kendall
 * variance with ties in y and in t removed, C = z₁₋α/₂·√Var(S), and the bounds are the
 * round((N − C)/2)-th and round((N + C)/2)+1-th smallest slopes, rounded half to even and
 * clamped to the slopes, exactly as `scipy.stats.theilslopes`.
 */
export const senSlopeOptionsSchema = z.strictObject({
  /** Two-sided confidence level of the interval. */
  confidence: z.number().gt(0).lt(1).default(0.95),
});
export type SenSlopeOptions = z.input<typeof senSlopeOptionsSchema>;

export interface SenSlopeResult {
  readonly n: number;
  /** Median pairwise slope, per unit of `times` (per index step by default). */
  readonly slope: number;
  /** median(y) − slope·median(t). */
  readonly intercept: number;
  /** Lower bound of the slope's confidence interval, or null when ties leave Var(S) < 0. */
  readonly lower: number | null;
  /** Upper bound of the slope's confidence interval, or null when ties leave Var(S) < 0. */
  readonly upper: number | null;
  readonly confidence: number;
  /** Number of pairwise slopes (pairs with distinct times). */
  readonly pairs: number;
}

/**
 * Sen's slope of `values` against `times` (default 0, 1, 2, …). Needs ≥ 2 values at distinct times.
 */
export function senSlope(
  values: ArrayLike<number>,
  options: SenSlopeOptions = {},
  times?: ArrayLike<number>,
): TestOutcome<SenSlopeResult> {
  assertFiniteSeries(values, 'values');
  if (times !== undefined) {
    assertFiniteSeries(times, 'times');
    if (times.length !== values.length) {
      throw new ValidationError('times', `${values.length} times, one per value`, times.length);
    }
  }
  const { confidence } = parseWith(senSlopeOptionsSchema, options, 'senSlope');
  const n = values.length;
  if (n < 2) return insufficientData(n, 2);
  const t = (i: number): number => (times === undefined ? i : times[i]!);
  const slopes = new Float64Array((n * (n - 1)) / 2);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const yi = values[i]!;
    const ti = t(i);
    for (let j = 0; j < n; j++) {
      const dt = t(j) - ti;
      if (dt > 0) slopes[count++] = (values[j]! - yi) / dt;
    }
  }
  if (count === 0) return insufficientData(0, 1, 'pairs of values at distinct times');
  const sorted = slopes.subarray(0, count).sort();
  const slope = sortedMedian(sorted);
  const ys = Float64Array.from(values).sort();
  const ts = times === undefined ? null : Float64Array.from(times).sort();
  const medianT = ts === null ? (n - 1) / 2 : sortedMedian(ts);
  const intercept = sortedMedian(ys) - slope * medianT;

  const varS = (n * (n - 1) * (2 * n + 5) - tieTerm(ys) - (ts === null ? 0 : tieTerm(ts))) / 18;
  let lower: number | null = null;
  let upper: number | null = null;
  if (varS >= 0) {
    const c = standardNormalQuantile(1 - (1 - confidence) / 2) * Math.sqrt(varS);
    const hi = Math.min(roundHalfEven((count + c) / 2), count - 1);
    const lo = Math.max(roundHalfEven((count - c) / 2) - 1, 0);
    lower = sorted[lo]!;
    upper = sorted[hi]!;
  }
  return { status: 'ok', n, slope, intercept, lower, upper, confidence, pairs: count };
}

/** Σ t(t − 1)(2t + 5) over groups of equal values in an ascending array (the tie term of Var(S)). */
export function tieTerm(sorted: ArrayLike<number>): number {
  let sum = 0;
  let run = 1;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]) {
      run++;
      continue;
    }
    if (run > 1) sum += run * (run - 1) * (2 * run + 5);
    run = 1;
  }
  return sum;
}
