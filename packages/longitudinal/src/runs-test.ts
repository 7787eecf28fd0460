import { parseWith } from '@anomalia/core';
import { z } from 'zod';
import { normalPValue } from './distributions';
import { assertFiniteSeries, meanAndVariance, sortedMedian, type TestOutcome } from './series';

/**
 * Wald–Wolfowitz runs test for randomness (Wald & Wolfowitz 1940) about a cutoff (default the
 * median): each value becomes "above" or "below", and R, the number of runs of equal labels, is
 * compared with its distribution under random order given n₁ above and n₂ below:
 *
 *   E[R] = 2n₁n₂/n + 1     Var[R] = 2n₁n₂(2n₁n₂ − n) / (n²(n − 1))
 *
 * Too few runs mean clustering or a trend (a drift keeps values on one side); too many mean
 * alternation (e.g. every other fraction altered). `method: 'normal'` uses Z = (R − E[R])/√Var[R]
 * with a continuity correction of ½ toward E[R] (0 when |R − E[R]| ≤ ½); `'auto'` applies it for
 * n < 50 as SAS and statsmodels do. `method: 'exact'` sums the exact distribution of R (Swed &
 * Eisenhart 1943) and doubles the smaller tail for the two-sided p-value.
 *
 * Values equal to the cutoff are dropped by default (`ties: 'drop'`); `ties: 'above'` counts them
 * as above, as `statsmodels.sandbox.stats.runs.runstest_1samp` does (x ≥ cutoff).
 */
export const runsTestOptionsSchema = z.strictObject({
  cutoff: z.union([z.enum(['median', 'mean']), z.number().finite()]).default('median'),
  ties: z.enum(['drop', 'above']).default('drop'),
  method: z.enum(['normal', 'exact']).default('normal'),
  /** Normal method only: `auto` corrects when n < 50. */
  continuityCorrection: z.union([z.literal('auto'), z.boolean()]).default('auto'),
  /** `less`: fewer runs than chance (clustering, trend); `greater`: more (alternation). */
  alternative: z.enum(['two-sided', 'greater', 'less']).default('two-sided'),
});
export type RunsTestOptions = z.input<typeof runsTestOptionsSchema>;

export interface RunsTestResult {
  /** Values labelled (after dropping ties with the cutoff). */
  readonly n: number;
  readonly nAbove: number;
  readonly nBelow: number;
  /** Values equal to the cutoff that were dropped. */
  readonly dropped: number;
  readonly cutoff: number;
  /** Observed number of runs R. */
  readonly runs: number;
  readonly expectedRuns: number;
  readonly varianceRuns: number;
  /** Z (normal method; also reported for exact). */
  readonly statistic: number;
  readonly pValue: number;
  readonly method: 'normal' | 'exact';
  readonly continuityCorrection: boolean;
}

export function runsTest(
  values: ArrayLike<number>,
  options: RunsTestOptions = {},
): TestOutcome<RunsTestResult> {
  assertFiniteSeries(values, 'values');
  const o = parseWith(runsTestOptionsSchema, options, 'runsTest');
  const total = values.length;
  if (total < 3) return insufficient(total, 'values');
  const cutoff =
    o.cutoff === 'median'
      ? sortedMedian(Float64Array.from(values).sort())
      : o.cutoff === 'mean'
        ? meanAndVariance(values).mean
        : o.cutoff;
  let nAbove = 0;
  let nBelow = 0;
  let runs = 0;
  let previous = 0; // 1 above, −1 below, 0 none yet
  for (let i = 0; i < total; i++) {
    const v = values[i]!;
    if (v === cutoff && o.ties === 'drop') continue;
    const label = v >= cutoff ? 1 : -1;
    if (label === 1) nAbove++;
    else nBelow++;
    if (label !== previous) runs++;
    previous = label;
  }
  const n = nAbove + nBelow;
  const dropped = total - n;
  if (nAbove === 0 || nBelow === 0 || n < 3) {
    const what =
      n === 0
        ? 'values different from the cutoff (every value equals it)'
        : 'labelled values with at least one on each side of the cutoff';
    return insufficient(n, what);
  }
  const product = nAbove * nBelow;
  const expectedRuns = (2 * product) / n + 1;
  const varianceRuns = (2 * product * (2 * product - n)) / (n * n * (n - 1));
  const deviation = runs - expectedRuns;
  const correct =
    o.method === 'normal' && (o.continuityCorrection === 'auto' ? n < 50 : o.continuityCorrection);
  const corrected = correct
    ? Math.abs(deviation) <= 0.5
      ? 0
      : deviation - Math.sign(deviation) * 0.5
    : deviation;
  const statistic = corrected / Math.sqrt(varianceRuns);
  const pValue =
    o.method === 'exact'
      ? exactRunsPValue(runs, nAbove, nBelow, o.alternative)
      : normalPValue(statistic, o.alternative);
  return {
    status: 'ok',
    n,
    nAbove,
    nBelow,
    dropped,
    cutoff,
    runs,
    expectedRuns,
    varianceRuns,
    statistic,
    pValue,
    method: o.method,
    continuityCorrection: correct,
  };
}

function insufficient(n: number, what: string) {
  return {
    status: 'insufficient-data' as const,
    n,
    required: 3,
    reason: `insufficient data: need ≥ 3 ${what}, got ${n}`,
  };
}

/**
 * Exact P(R = r) for n₁, n₂ labels in random order (Swed & Eisenhart 1943):
 * R = 2k: 2·C(n₁−1, k−1)·C(n₂−1, k−1) / C(n, n₁);
 * R = 2k+1: [C(n₁−1, k)·C(n₂−1, k−1) + C(n₁−1, k−1)·C(n₂−1, k)] / C(n, n₁).
 * Evaluated in log space so large n neither overflows nor underflows prematurely.
 */
export function runsDistribution(n1: number, n2: number): Float64Array {
  const n = n1 + n2;
  const logFact = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) logFact[i] = logFact[i - 1]! + Math.log(i);
  const logC = (a: number, b: number): number =>
    b < 0 || b > a ? -Infinity : logFact[a]! - logFact[b]! - logFact[a - b]!;
  const logTotal = logC(n, n1);
  const p = new Float64Array(n + 1);
  for (let r = 2; r <= n; r++) {
    if (r % 2 === 0) {
      const k = r / 2;
      p[r] = 2 * Math.exp(logC(n1 - 1, k - 1) + logC(n2 - 1, k - 1) - logTotal);
    } else {
      const k = (r - 1) / 2;
      p[r] =
        Math.exp(logC(n1 - 1, k) + logC(n2 - 1, k - 1) - logTotal) +
        Math.exp(logC(n1 - 1, k - 1) + logC(n2 - 1, k) - logTotal);
    }
  }
  return p;
}

function exactRunsPValue(
  r: number,
  n1: number,
  n2: number,
  alternative: 'two-sided' | 'greater' | 'less',
): number {
  const p = runsDistribution(n1, n2);
  let lower = 0;
  let upper = 0;
  for (let i = 0; i < p.length; i++) {
    if (i <= r) lower += p[i]!;
    if (i >= r) upper += p[i]!;
  }
  if (alternative === 'less') return Math.min(1, lower);
  if (alternative === 'greater') return Math.min(1, upper);
  return Math.min(1, 2 * Math.min(lower, upper));
}
