import { parseWith } from '@anomalia/core';
import { z } from 'zod';
import { assertFiniteSeries, insufficientData, meanAndVariance, type TestOutcome } from './series';

/**
 * In-control mean and σ for CUSUM / EWMA from the first `count` values of a series (e.g. the first
 * fractions of a course, before any drift could accumulate). `moving-range` estimates σ as
 * MR̄ / d₂ with d₂ = 1.128 (the individuals-chart estimator, Montgomery §6.4), which a slow
 * drift inside the baseline inflates far less than the sample standard deviation does.
 */
export const baselineOptionsSchema = z.strictObject({
  /** How many leading values form the baseline (≥ 2); default: all. */
  count: z.number().int().min(2).optional(),
  method: z.enum(['moving-range', 'sample-sd']).default('moving-range'),
});
export type BaselineOptions = z.input<typeof baselineOptionsSchema>;

export interface Baseline {
  readonly n: number;
  /** Mean of the baseline values (use as `target`). */
  readonly mean: number;
  /** σ estimate (use as `sigma`); 0 for a constant baseline, which no chart accepts. */
  readonly sigma: number;
  readonly method: 'moving-range' | 'sample-sd';
}

/** d₂ for subgroups of 2, the constant relating the mean moving range to σ. */
const D2_FOR_TWO = 1.128;

export function estimateBaseline(
  values: ArrayLike<number>,
  options: BaselineOptions = {},
): TestOutcome<Baseline> {
  assertFiniteSeries(values, 'values');
  const o = parseWith(baselineOptionsSchema, options, 'baseline');
  const count = o.count ?? values.length;
  if (values.length < count || count < 2)
    return insufficientData(Math.min(values.length, count), Math.max(2, count));
  const head = Array.prototype.slice.call(values, 0, count) as number[];
  const { mean, variance } = meanAndVariance(head);
  let sigma: number;
  if (o.method === 'sample-sd') {
    sigma = Math.sqrt(variance);
  } else {
    let mr = 0;
    for (let i = 1; i < count; i++) mr += Math.abs(head[i]! - head[i - 1]!);
    sigma = mr / (count - 1) / D2_FOR_TWO;
  }
  return { status: 'ok', n: count, mean, sigma, method: o.method };
}
