import gammainc from '@stdlib/math-base-special-gammainc';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantileStdlib from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantileStdlib from '@stdlib/stats-base-dists-t-quantile';

/**
 * The distribution functions every test needs, from stdlib (ports of Cephes / Boost, accurate in
 * the far tails). Upper tails are computed directly, never as `1 − cdf`, so p-values far below
 * machine epsilon survive for multiple-testing control across thousands of series.
 */

/** Which side(s) of the null distribution count as evidence against H0. */
export type Alternative = 'two-sided' | 'greater' | 'less';

/** P(Z ≤ z) for the standard normal. */
export function standardNormalCdf(z: number): number {
  return normalCdf(z, 0, 1);
}

/** P(Z ≥ z) for the standard normal, accurate for large z (symmetry, no cancellation). */
export function standardNormalSf(z: number): number {
  return normalCdf(-z, 0, 1);
}

/** The standard normal quantile Φ⁻¹(p). */
export function standardNormalQuantile(p: number): number {
  return normalQuantileStdlib(p, 0, 1);
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  return tCdf(t, df);
}

/** The Student t quantile with `df` degrees of freedom. */
export function studentTQuantile(p: number, df: number): number {
  return tQuantileStdlib(p, df);
}

/** P(X ≥ x) for chi-square with `df` degrees of freedom: the regularized upper incomplete gamma Q(df/2, x/2). */
export function chiSquareSf(x: number, df: number): number {
  if (x <= 0) return 1;
  return gammainc(x / 2, df / 2, true, true);
}

/** The p-value of a standard-normal statistic under `alternative`. */
export function normalPValue(z: number, alternative: Alternative): number {
  if (alternative === 'greater') return standardNormalSf(z);
  if (alternative === 'less') return standardNormalCdf(z);
  return Math.min(1, 2 * standardNormalCdf(-Math.abs(z)));
}

/** The p-value of a Student t statistic under `alternative`. */
export function studentTPValue(t: number, df: number, alternative: Alternative): number {
  if (alternative === 'greater') return studentTCdf(-t, df);
  if (alternative === 'less') return studentTCdf(t, df);
  return Math.min(1, 2 * studentTCdf(-Math.abs(t), df));
}
