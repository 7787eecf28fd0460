import { parseWith } from '@anomalia/core';
import { z } from 'zod';
import { chiSquareSf } from './distributions';
import { assertFiniteSeries, insufficientData, type TestOutcome } from './series';

/**
 * Benford first-digit test. Benford's law, P(d) = log10(1 + 1/d) for the first significant digit
 * d = 1…9, holds only for data that span several orders of magnitude and arise from multiplicative
 * processes (amounts, populations, counts); values confined to a narrow range (a dose that is
 * always near 200 cGy, a monitor-unit count between 80 and 120) do not follow it, and a failed
 * test on them means nothing. The result therefore says whether the data span at least
 * `minOrdersOfMagnitude` decades (log10(max|x| / min|x|) over non-zero x) and warns when not.
 *
 * Statistics: Pearson's chi-square on the nine digit counts (8 degrees of freedom), Nigrini's
 * mean absolute deviation MAD = Σ|p̂_d − P(d)|/9 with his first-digit conformity bands (Nigrini,
 * *Benford's Law*, Wiley 2012, Table 7.1: close ≤ 0.006 < acceptable ≤ 0.012 < marginal ≤ 0.015 <
 * nonconformity), and per-digit z statistics with Nigrini's continuity correction 1/(2n), used
 * only when smaller than |p̂ − P|. Zeros have no first digit and are excluded; negative values
 * count by their absolute value. The first digit is read from the shortest decimal that
 * round-trips the double (as printed), so 0.3 counts as 3, not 2.
 */
export const benfordOptionsSchema = z.strictObject({
  /**
   * Fewest non-zero values to test. The default 110 is the smallest n for which every expected
   * count (the smallest, digit 9, is 4.6 % of n) reaches 5, the usual condition for chi-square.
   */
  minCount: z.number().int().min(1).default(110),
  /** Decades the non-zero |x| must span for the law to apply. */
  minOrdersOfMagnitude: z.number().nonnegative().default(2),
});
export type BenfordOptions = z.input<typeof benfordOptionsSchema>;

export type NigriniConformity = 'close' | 'acceptable' | 'marginal' | 'nonconformity';

export interface BenfordResult {
  /** Non-zero values tested. */
  readonly n: number;
  /** Zero values left out. */
  readonly excluded: number;
  /** Count per first digit; index 0 is digit 1. */
  readonly counts: readonly number[];
  /** Observed proportion per digit. */
  readonly observed: readonly number[];
  /** Benford proportion per digit, log10(1 + 1/d). */
  readonly expected: readonly number[];
  /** Pearson chi-square statistic (8 degrees of freedom). */
  readonly statistic: number;
  readonly df: 8;
  readonly pValue: number;
  /** Nigrini's mean absolute deviation of the proportions. */
  readonly mad: number;
  readonly conformity: NigriniConformity;
  /** Nigrini's z per digit (index 0 is digit 1); > 1.96 is significant at 5 % for that digit. */
  readonly digitZ: readonly number[];
  /** log10(max|x| / min|x|) over the non-zero values. */
  readonly ordersOfMagnitude: number;
  /** False when the data span fewer than `minOrdersOfMagnitude` decades: the test is then not valid. */
  readonly spansOrdersOfMagnitude: boolean;
  /** Present when the test should not be trusted (narrow range). */
  readonly warning?: string;
}

/** Benford proportions for digits 1…9. */
export const BENFORD_FIRST_DIGIT: readonly number[] = Array.from({ length: 9 }, (_, i) =>
  Math.log10(1 + 1 / (i + 1)),
);

/** Nigrini's (2012) first-digit MAD bands: upper limits of close, acceptable and marginal conformity. */
export const NIGRINI_FIRST_DIGIT_MAD = { close: 0.006, acceptable: 0.012, marginal: 0.015 } as const;

/** First significant digit of a finite non-zero number, from its shortest round-trip decimal. */
export function firstSignificantDigit(value: number): number {
  // toExponential() with no argument prints the shortest digits that round-trip: "3e-1", "1.2345e+3".
  return value.toExponential().charCodeAt(value < 0 ? 1 : 0) - 48;
}

export function benfordFirstDigit(
  values: ArrayLike<number>,
  options: BenfordOptions = {},
): TestOutcome<BenfordResult> {
  assertFiniteSeries(values, 'values');
  const o = parseWith(benfordOptionsSchema, options, 'benford');
  const counts = new Array<number>(9).fill(0);
  let n = 0;
  let min = Infinity;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === 0) continue;
    const a = Math.abs(v);
    counts[firstSignificantDigit(a) - 1]!++;
    if (a < min) min = a;
    if (a > max) max = a;
    n++;
  }
  if (n < o.minCount) return insufficientData(n, o.minCount, 'non-zero values');
  const observed = counts.map((c) => c / n);
  let statistic = 0;
  let mad = 0;
  const digitZ: number[] = [];
  for (let d = 0; d < 9; d++) {
    const p = BENFORD_FIRST_DIGIT[d]!;
    const e = n * p;
    statistic += (counts[d]! - e) ** 2 / e;
    const dev = Math.abs(observed[d]! - p);
    mad += dev;
    const correction = 1 / (2 * n);
    digitZ.push((correction < dev ? dev - correction : dev) / Math.sqrt((p * (1 - p)) / n));
  }
  mad /= 9;
  // Difference of logs: max / min overflows for data spanning the whole double range.
  const ordersOfMagnitude = Math.log10(max) - Math.log10(min);
  const spansOrdersOfMagnitude = ordersOfMagnitude >= o.minOrdersOfMagnitude;
  return {
    status: 'ok',
    n,
    excluded: values.length - n,
    counts,
    observed,
    expected: BENFORD_FIRST_DIGIT,
    statistic,
    df: 8,
    pValue: chiSquareSf(statistic, 8),
    mad,
    conformity: nigriniConformity(mad),
    digitZ,
    ordersOfMagnitude,
    spansOrdersOfMagnitude,
    ...(spansOrdersOfMagnitude
      ? {}
      : {
          warning:
            `data span ${ordersOfMagnitude.toFixed(2)} orders of magnitude, fewer than ${o.minOrdersOfMagnitude}: ` +
            "Benford's law does not apply, so this test is not valid for these data",
        }),
  };
}

export function nigriniConformity(mad: number): NigriniConformity {
  if (mad <= NIGRINI_FIRST_DIGIT_MAD.close) return 'close';
  if (mad <= NIGRINI_FIRST_DIGIT_MAD.acceptable) return 'acceptable';
  if (mad <= NIGRINI_FIRST_DIGIT_MAD.marginal) return 'marginal';
  return 'nonconformity';
}
