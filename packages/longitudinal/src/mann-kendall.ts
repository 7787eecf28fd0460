import { parseWith } from '@anomalia/core';
import { z } from 'zod';
import { type Alternative, normalPValue, standardNormalQuantile } from './distributions';
import { tieTerm } from './sen-slope';
import { assertFiniteSeries, insufficientData, sortedMedian, type TestOutcome } from './series';

/**
 * Mann–Kendall trend test (Mann 1945; Kendall 1975) on a series in time order:
 *
 *   S = Σᵢ<ⱼ sign(xⱼ − xᵢ)     Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18
 *
 * (the sum over groups of t tied values), Z = (S − 1)/√Var(S) if S > 0, (S + 1)/√Var(S) if S < 0,
 * 0 if S = 0 (continuity correction), and the p-value from the standard normal. The normal
 * approximation is coarse below about 10 points.
 *
 * `autocorrelation: 'hamed-rao'` applies Hamed & Rao's (1998) variance correction for serially
 * correlated data, as pymannkendall's `hamed_rao_modification_test`: detrend with Sen's slope
 * (xᵢ − i·slope, i = 1…n), rank, take the lag-i autocorrelations ρᵢ of the ranks that lie outside
 * ±z₁₋α/₂/√n, and multiply Var(S) by n/n* = 1 + 2/(n(n−1)(n−2))·|Σ (n−i)(n−i−1)(n−i−2)ρᵢ|. Positive
 * autocorrelation makes the plain test fire far too often; the absolute value (pymannkendall's
 * choice) means the correction never shrinks the variance, which keeps a monitor conservative.
 */
export const mannKendallOptionsSchema = z.strictObject({
  /** Significance level for `trend` (and for which autocorrelations count under Hamed–Rao). */
  alpha: z.number().gt(0).lt(1).default(0.05),
  alternative: z.enum(['two-sided', 'greater', 'less']).default('two-sided'),
  autocorrelation: z.enum(['none', 'hamed-rao']).default('none'),
  /** Hamed–Rao: use only the first `lags` autocorrelations (Hamed & Rao suggest 3); default all n − 1. */
  lags: z.number().int().min(1).optional(),
});
export type MannKendallOptions = z.input<typeof mannKendallOptionsSchema>;

export interface MannKendallResult {
  readonly n: number;
  /** Mann–Kendall S. */
  readonly s: number;
  /** Var(S) after the tie correction (and the Hamed–Rao factor when used). */
  readonly varS: number;
  /** Standardised statistic with continuity correction. */
  readonly z: number;
  readonly pValue: number;
  /** Kendall's τ-a against time, S / (n(n−1)/2). */
  readonly tau: number;
  /** Direction when pValue < alpha, else `none`. */
  readonly trend: 'increasing' | 'decreasing' | 'none';
  readonly alpha: number;
  readonly alternative: Alternative;
  /** Var(S) multiplier: 1, or Hamed–Rao's n/n*. */
  readonly varianceCorrection: number;
  /** Number of groups of tied values. */
  readonly tieGroups: number;
  /** Present when a degenerate series makes the numbers conventional (e.g. a constant series). */
  readonly note?: string;
}

/** Needs ≥ 3 values (S ranges over {−1, 1} at n = 2, which tests nothing). */
export function mannKendall(
  values: ArrayLike<number>,
  options: MannKendallOptions = {},
): TestOutcome<MannKendallResult> {
  assertFiniteSeries(values, 'values');
  const o = parseMannKendallOptions(options);
  const n = values.length;
  if (n < 3) return insufficientData(n, 3);
  const s = mannKendallS(values);
  const sorted = Float64Array.from(values).sort();
  let tieGroups = 0;
  for (let i = 1; i < n; i++)
    if (sorted[i] === sorted[i - 1] && (i === 1 || sorted[i - 1] !== sorted[i - 2])) tieGroups++;
  const constant = sorted[0] === sorted[n - 1];
  let varS = (n * (n - 1) * (2 * n + 5) - tieTerm(sorted)) / 18;
  let varianceCorrection = 1;
  if (o.autocorrelation === 'hamed-rao' && !constant) {
    varianceCorrection = hamedRaoFactor(values, o.alpha, o.lags);
    varS *= varianceCorrection;
  }
  const z = s > 0 ? (s - 1) / Math.sqrt(varS) : s < 0 ? (s + 1) / Math.sqrt(varS) : 0;
  const pValue = normalPValue(z, o.alternative);
  const significant = pValue < o.alpha;
  const trend = !significant || z === 0 ? 'none' : z > 0 ? 'increasing' : 'decreasing';
  return {
    status: 'ok',
    n,
    s,
    varS,
    z,
    pValue,
    tau: s / ((n * (n - 1)) / 2),
    trend,
    alpha: o.alpha,
    alternative: o.alternative,
    varianceCorrection,
    tieGroups,
    ...(constant
      ? { note: 'constant series: S = 0 and Var(S) = 0, reported as no trend (z = 0, p = 1)' }
      : {}),
  };
}

/** S = Σᵢ<ⱼ sign(xⱼ − xᵢ), O(n²). */
export function mannKendallS(x: ArrayLike<number>): number {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n - 1; i++) {
    const xi = x[i]!;
    for (let j = i + 1; j < n; j++) {
      const d = x[j]! - xi;
      s += d > 0 ? 1 : d < 0 ? -1 : 0;
    }
  }
  return s;
}

/** Hamed & Rao's n/n* (see mannKendallOptionsSchema), with pymannkendall's |Σ|. */
function hamedRaoFactor(x: ArrayLike<number>, alpha: number, lags: number | undefined): number {
  const n = x.length;
  const slope = medianPairwiseSlope(x);
  const detrended = new Float64Array(n);
  for (let i = 0; i < n; i++) detrended[i] = x[i]! - (i + 1) * slope;
  const ranks = averageRanks(detrended);
  const maxLag = Math.min(lags ?? n - 1, n - 1);
  const acf = autocorrelation(ranks, maxLag);
  const bound = twoSidedQuantile(alpha) / Math.sqrt(n);
  let sum = 0;
  for (let i = 1; i <= maxLag; i++) {
    const r = acf[i]!;
    if (r > bound || r < -bound) sum += (n - i) * (n - i - 1) * (n - i - 2) * r;
  }
  return 1 + (2 / (n * (n - 1) * (n - 2))) * Math.abs(sum);
}

/** z₁₋α/₂ of the last α asked for (a tracker asks for the same one thousands of times). */
let quantileAlpha = Number.NaN;
let quantileValue = Number.NaN;
function twoSidedQuantile(alpha: number): number {
  if (alpha !== quantileAlpha) {
    quantileValue = standardNormalQuantile(1 - alpha / 2);
    quantileAlpha = alpha;
  }
  return quantileValue;
}

function medianPairwiseSlope(x: ArrayLike<number>): number {
  const n = x.length;
  const slopes = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n - 1; i++) for (let j = i + 1; j < n; j++) slopes[k++] = (x[j]! - x[i]!) / (j - i);
  return sortedMedian(slopes.sort());
}

/** Ranks 1…n with ties given their average rank (scipy's `rankdata` default). */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[order[j + 1]!] === x[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Biased sample autocorrelation (divisor n at every lag), lags 0…maxLag; all zero for a constant series. */
function autocorrelation(x: Float64Array, maxLag: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = x[i]! - mean;
  const acov = new Float64Array(maxLag + 1);
  for (let lag = 0; lag <= maxLag; lag++) {
    let s = 0;
    for (let i = 0; i + lag < n; i++) s += y[i]! * y[i + lag]!;
    acov[lag] = s / n;
  }
  if (acov[0] === 0) return acov;
  const c0 = acov[0]!;
  for (let lag = 0; lag <= maxLag; lag++) acov[lag]! /= c0;
  return acov;
}

const MANN_KENDALL_KEYS: ReadonlySet<string> = new Set(['alpha', 'alternative', 'autocorrelation', 'lags']);
const ALTERNATIVES: ReadonlySet<unknown> = new Set(['two-sided', 'greater', 'less']);
const AUTOCORRELATIONS: ReadonlySet<unknown> = new Set(['none', 'hamed-rao']);
type ParsedMannKendallOptions = z.output<typeof mannKendallOptionsSchema>;

/**
 * The options with their defaults. A valid plain object is checked by hand (a course tracker
 * tests thousands of series); anything else goes through the schema, whose error names the field.
 */
function parseMannKendallOptions(options: MannKendallOptions): ParsedMannKendallOptions {
  if (
    typeof options === 'object' &&
    options !== null &&
    Object.getPrototypeOf(options) === Object.prototype
  ) {
    const { alpha = 0.05, alternative = 'two-sided', autocorrelation = 'none', lags } = options;
    if (
      Object.keys(options).every((key) => MANN_KENDALL_KEYS.has(key)) &&
      typeof alpha === 'number' &&
      alpha > 0 &&
      alpha < 1 &&
      ALTERNATIVES.has(alternative) &&
      AUTOCORRELATIONS.has(autocorrelation) &&
      (lags === undefined || (Number.isInteger(lags) && lags >= 1))
    )
      return { alpha, alternative, autocorrelation, ...(lags === undefined ? {} : { lags }) };
  }
  return parseWith(mannKendallOptionsSchema, options, 'mannKendall');
}
