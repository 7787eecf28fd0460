import { parseWith } from '@anomalia/core';
import betainc from '@stdlib/math-base-special-betainc';
import { z } from 'zod';

/**
 * Exact tests of event counts:
 *
 * - `binomialTest(k, n, p)`: k successes in n trials against success probability p, one-sided
 *   (`scipy.stats.binomtest(k, n, p, alternative)`). Tails come from the regularized incomplete
 *   beta function, P(X ≥ k) = I_p(k, n − k + 1) and P(X ≤ k) = I_{1−p}(n − k, k + 1), never from
 *   1 − cdf, so p-values far below machine epsilon survive multiple-testing control.
 * - `poissonRateTest(x, e, y, f)`: are x events over exposure e more (or less) frequent than y
 *   events over exposure f? The conditional exact test (Przyborowski & Wilenski 1940): given
 *   x + y events, x is Binomial(x + y, e / (e + f)) when both rates are equal.
 */
const oneSided = z.enum(['greater', 'less']).default('greater');

export const rateTestOptionsSchema = z.strictObject({
  /** `greater`: the first count is above what the null expects; `less`: below. */
  alternative: oneSided,
});
export type RateTestOptions = z.input<typeof rateTestOptionsSchema>;

const count = () => z.number().int().nonnegative();

const binomialInputSchema = z
  .strictObject({
    successes: count(),
    trials: count(),
    probability: z.number().min(0).max(1),
  })
  .refine((v) => v.successes <= v.trials, { message: 'successes ≤ trials', path: ['successes'] });

export interface BinomialTestResult {
  readonly status: 'ok';
  readonly successes: number;
  readonly trials: number;
  /** The null success probability. */
  readonly probability: number;
  /** successes / trials (NaN for 0 trials). */
  readonly estimate: number;
  readonly pValue: number;
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
function upperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n || p <= 0) return 0;
  if (p >= 1) return 1;
  return betainc(p, k, n - k + 1, true, false);
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
function lowerTail(k: number, n: number, p: number): number {
  if (k >= n) return 1;
  if (k < 0 || p >= 1) return 0;
  if (p <= 0) return 1;
  return betainc(1 - p, n - k, k + 1, true, false);
}

/** The exact one-sided binomial test of `successes` in `trials` against `probability`. */
export function binomialTest(
  successes: number,
  trials: number,
  probability: number,
  options: RateTestOptions = {},
): BinomialTestResult {
  const v = parseWith(binomialInputSchema, { successes, trials, probability }, 'binomialTest');
  const o = parseWith(rateTestOptionsSchema, options, 'binomialTest.options');
  const pValue =
    o.alternative === 'greater'
      ? upperTail(v.successes, v.trials, v.probability)
      : lowerTail(v.successes, v.trials, v.probability);
  return {
    status: 'ok',
    successes: v.successes,
    trials: v.trials,
    probability: v.probability,
    estimate: v.trials === 0 ? Number.NaN : v.successes / v.trials,
    pValue: Math.min(1, Math.max(0, pValue)),
  };
}

const exposure = () => z.number().finite().positive();

const poissonInputSchema = z.strictObject({
  count: count(),
  exposure: exposure(),
  otherCount: count(),
  otherExposure: exposure(),
});

export interface PoissonRateTestResult {
  readonly status: 'ok';
  /** count / exposure. */
  readonly rate: number;
  /** otherCount / otherExposure. */
  readonly otherRate: number;
  /** rate / otherRate (Infinity when the other rate is 0 and the rate is not; NaN when both are 0). */
  readonly rateRatio: number;
  /** The count expected at the pooled rate: (count + otherCount) · exposure / (exposure + otherExposure). */
  readonly expected: number;
  readonly pValue: number;
}

/** The conditional exact test of two Poisson rates (first against second). */
export function poissonRateTest(
  count: number,
  exposure: number,
  otherCount: number,
  otherExposure: number,
  options: RateTestOptions = {},
): PoissonRateTestResult {
  const v = parseWith(poissonInputSchema, { count, exposure, otherCount, otherExposure }, 'poissonRateTest');
  const total = v.count + v.otherCount;
  const share = v.exposure / (v.exposure + v.otherExposure);
  const b = binomialTest(v.count, total, share, options);
  const rate = v.count / v.exposure;
  const otherRate = v.otherCount / v.otherExposure;
  return {
    status: 'ok',
    rate,
    otherRate,
    rateRatio: rate / otherRate,
    expected: total * share,
    pValue: b.pValue,
  };
}
