import { parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';
import { type Alternative, studentTPValue, studentTQuantile } from './distributions';
import { assertFiniteSeries, insufficientData, meanAndVariance, type TestOutcome } from './series';

const alternativeSchema = z.enum(['two-sided', 'greater', 'less']).default('two-sided');
const confidenceSchema = z.number().gt(0).lt(1).default(0.95);

export const tTestOptionsSchema = z.strictObject({
  /** H1: the difference (first − second, or sample − planned) is ≠ 0, > 0 or < 0. */
  alternative: alternativeSchema,
  /** Level of the confidence interval of the difference. */
  confidence: confidenceSchema,
});
export type TTestOptions = z.input<typeof tTestOptionsSchema>;

export interface TTestResult {
  /** The t statistic; ±Infinity when both variances are 0 and the means differ. */
  readonly statistic: number;
  /** Degrees of freedom (Welch–Satterthwaite for Welch's test). */
  readonly df: number;
  readonly pValue: number;
  readonly alternative: Alternative;
  /** The estimated difference: mean(a) − mean(b), or mean(x − planned). */
  readonly difference: number;
  /** Standard error of the difference. */
  readonly standardError: number;
  /** Confidence interval of the difference (one-sided alternatives give an infinite bound, as scipy). */
  readonly confidenceInterval: readonly [number, number];
  readonly confidence: number;
  readonly n: number;
  /** Present when zero variance makes the numbers conventional. */
  readonly note?: string;
}

export interface WelchTTestResult extends TTestResult {
  readonly n1: number;
  readonly n2: number;
  readonly mean1: number;
  readonly mean2: number;
  readonly variance1: number;
  readonly variance2: number;
}

/**
 * Welch's unequal-variance t-test (Welch 1947): t = (x̄₁ − x̄₂)/√(s₁²/n₁ + s₂²/n₂) with
 * Welch–Satterthwaite degrees of freedom ν = (s₁²/n₁ + s₂²/n₂)² / [(s₁²/n₁)²/(n₁−1) + (s₂²/n₂)²/(n₂−1)].
 * Matches `scipy.stats.ttest_ind(a, b, equal_var=False)`. Needs ≥ 2 values in each sample.
 */
export function welchTTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: TTestOptions = {},
): TestOutcome<WelchTTestResult> {
  assertFiniteSeries(a, 'a');
  assertFiniteSeries(b, 'b');
  const o = parseWith(tTestOptionsSchema, options, 'welchTTest');
  if (a.length < 2 || b.length < 2) {
    return insufficientData(Math.min(a.length, b.length), 2, 'values in each sample');
  }
  const A = meanAndVariance(a);
  const B = meanAndVariance(b);
  const n1 = a.length;
  const n2 = b.length;
  const va = A.variance / n1;
  const vb = B.variance / n2;
  const se2 = va + vb;
  const difference = A.mean - B.mean;
  const df = se2 === 0 ? n1 + n2 - 2 : (se2 * se2) / ((va * va) / (n1 - 1) + (vb * vb) / (n2 - 1));
  const base = tResult(difference, Math.sqrt(se2), df, o.alternative, o.confidence, n1 + n2);
  return {
    ...base,
    n1,
    n2,
    mean1: A.mean,
    mean2: B.mean,
    variance1: A.variance,
    variance2: B.variance,
  };
}

export const beforeAfterOptionsSchema = z.strictObject({
  /** Index of the first "after" value (the suspected change point), 0 ≤ at ≤ n; a window of fewer than 2 values gives insufficient data. */
  at: z.number().int().min(0),
  /** Values before `at` to use (default all). */
  before: z.number().int().min(1).optional(),
  /** Values from `at` on to use (default all). */
  after: z.number().int().min(1).optional(),
  alternative: alternativeSchema,
  confidence: confidenceSchema,
});
export type BeforeAfterOptions = z.input<typeof beforeAfterOptionsSchema>;

/**
 * Welch's test of the window after a change point against the window before it:
 * `difference` = mean(after) − mean(before), so `alternative: 'greater'` tests for an increase.
 */
export function beforeAfterTTest(
  values: ArrayLike<number>,
  options: BeforeAfterOptions,
): TestOutcome<WelchTTestResult> {
  assertFiniteSeries(values, 'values');
  const o = parseWith(beforeAfterOptionsSchema, options, 'beforeAfterTTest');
  if (o.at > values.length) {
    throw new ValidationError('beforeAfterTTest.at', `an index ≤ ${values.length} (the series length)`, o.at);
  }
  const start = o.before === undefined ? 0 : Math.max(0, o.at - o.before);
  const end = o.after === undefined ? values.length : Math.min(values.length, o.at + o.after);
  const slice = (from: number, to: number): number[] =>
    Array.prototype.slice.call(values, from, to) as number[];
  return welchTTest(slice(o.at, end), slice(start, o.at), {
    alternative: o.alternative,
    confidence: o.confidence,
  });
}

/**
 * One-sample t-test of `values` against a planned value, or against one planned value per point
 * (then the test is on the differences xᵢ − plannedᵢ, i.e. a paired test): t = d̄/(s_d/√n),
 * n − 1 degrees of freedom. Matches `scipy.stats.ttest_1samp(x − planned, 0)`. Needs ≥ 2 values.
 */
export function oneSampleTTest(
  values: ArrayLike<number>,
  planned: number | ArrayLike<number>,
  options: TTestOptions = {},
): TestOutcome<TTestResult> {
  assertFiniteSeries(values, 'values');
  const o = parseWith(tTestOptionsSchema, options, 'oneSampleTTest');
  const n = values.length;
  let diffs: Float64Array;
  if (typeof planned === 'number') {
    if (!Number.isFinite(planned)) throw new ValidationError('planned', 'a finite number', planned);
    diffs = Float64Array.from(values, (v) => v - planned);
  } else {
    assertFiniteSeries(planned, 'planned');
    if (planned.length !== n)
      throw new ValidationError('planned', `${n} planned values, one per value`, planned.length);
    diffs = Float64Array.from(values, (v, i) => v - planned[i]!);
  }
  if (n < 2) return insufficientData(n, 2);
  const { mean, variance } = meanAndVariance(diffs);
  return tResult(mean, Math.sqrt(variance / n), n - 1, o.alternative, o.confidence, n);
}

function tResult(
  difference: number,
  standardError: number,
  df: number,
  alternative: Alternative,
  confidence: number,
  n: number,
): { status: 'ok' } & TTestResult {
  if (standardError === 0) {
    // Zero variance: every value sits exactly on its mean. Equal means are no evidence of a
    // difference; unequal ones are a difference with no noise at all (the limit t → ±∞).
    const statistic = difference === 0 ? 0 : difference > 0 ? Infinity : -Infinity;
    const pValue = difference === 0 ? 1 : studentTPValue(statistic, df, alternative);
    return {
      status: 'ok',
      statistic,
      df,
      pValue,
      alternative,
      difference,
      standardError,
      confidenceInterval: [difference, difference],
      confidence,
      n,
      note:
        difference === 0
          ? 'zero variance and no difference: reported as t = 0, p = 1'
          : 'zero variance with a non-zero difference: t is infinite',
    };
  }
  const statistic = difference / standardError;
  const pValue = studentTPValue(statistic, df, alternative);
  let lo: number;
  let hi: number;
  if (alternative === 'two-sided') {
    const q = studentTQuantile(1 - (1 - confidence) / 2, df) * standardError;
    lo = difference - q;
    hi = difference + q;
  } else {
    const q = studentTQuantile(confidence, df) * standardError;
    lo = alternative === 'greater' ? difference - q : -Infinity;
    hi = alternative === 'greater' ? Infinity : difference + q;
  }
  return {
    status: 'ok',
    statistic,
    df,
    pValue,
    alternative,
    difference,
    standardError,
    confidenceInterval: [lo, hi],
    confidence,
    n,
  };
}
