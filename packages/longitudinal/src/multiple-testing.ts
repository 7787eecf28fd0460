import { parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';

/**
 * Multiple-testing control for many p-values at once (e.g. one test per patient × parameter).
 * Each method returns adjusted p-values, so "reject where adjusted ≤ alpha" is the procedure:
 *
 * - `bh` (Benjamini & Hochberg 1995): controls the false discovery rate for independent or
 *   positively dependent tests; adjusted p₍ᵢ₎ = min over j ≥ i of m·p₍ⱼ₎/j, capped at 1.
 * - `by` (Benjamini & Yekutieli 2001): FDR under any dependence; BH multiplied by Σⱼ 1/j.
 * - `holm` (Holm 1979): family-wise error rate, uniformly more powerful than Bonferroni;
 *   adjusted p₍ᵢ₎ = max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎).
 * - `bonferroni`: family-wise error rate, min(1, m·p).
 *
 * Same numbers as `statsmodels.stats.multitest.multipletests` (fdr_bh, fdr_by, holm, bonferroni).
 */
export const multipleTestingOptionsSchema = z.strictObject({
  method: z.enum(['bh', 'by', 'holm', 'bonferroni']).default('bh'),
  /** FDR level (bh, by) or family-wise error rate (holm, bonferroni). */
  alpha: z.number().gt(0).lt(1).default(0.05),
});
export type MultipleTestingOptions = z.input<typeof multipleTestingOptionsSchema>;
export type MultipleTestingMethod = z.output<typeof multipleTestingOptionsSchema>['method'];

export interface MultipleTestingResult {
  readonly method: MultipleTestingMethod;
  readonly alpha: number;
  /** Number of tests m. */
  readonly m: number;
  /** Adjusted p-value per input p-value, in input order. */
  readonly adjusted: Float64Array;
  /** Per input: adjusted ≤ alpha. */
  readonly rejected: readonly boolean[];
  /** Input indices of the rejected hypotheses, ascending. */
  readonly rejectedIndices: readonly number[];
}

/** Adjusts `pValues` (each in [0, 1]; NaN is an error naming its index). An empty input rejects nothing. */
export function adjustPValues(
  pValues: ArrayLike<number>,
  options: MultipleTestingOptions = {},
): MultipleTestingResult {
  const o = parseWith(multipleTestingOptionsSchema, options, 'multipleTesting');
  const m = pValues.length;
  for (let i = 0; i < m; i++) {
    const p = pValues[i];
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new ValidationError(`pValues[${i}]`, 'a p-value in [0, 1]', p);
    }
  }
  const adjusted = new Float64Array(m);
  if (o.method === 'bonferroni') {
    for (let i = 0; i < m; i++) adjusted[i] = Math.min(1, m * pValues[i]!);
  } else {
    const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => pValues[a]! - pValues[b]!);
    if (o.method === 'holm') {
      let running = 0;
      for (let r = 0; r < m; r++) {
        const i = order[r]!;
        running = Math.max(running, Math.min(1, (m - r) * pValues[i]!));
        adjusted[i] = running;
      }
    } else {
      let harmonic = 1;
      if (o.method === 'by') {
        harmonic = 0;
        for (let j = 1; j <= m; j++) harmonic += 1 / j;
      }
      let running = 1;
      for (let r = m - 1; r >= 0; r--) {
        const i = order[r]!;
        running = Math.min(running, (harmonic * m * pValues[i]!) / (r + 1));
        adjusted[i] = running;
      }
    }
  }
  const rejected: boolean[] = [];
  const rejectedIndices: number[] = [];
  for (let i = 0; i < m; i++) {
    const r = adjusted[i]! <= o.alpha;
    rejected.push(r);
    if (r) rejectedIndices.push(i);
  }
  return { method: o.method, alpha: o.alpha, m, adjusted, rejected, rejectedIndices };
}

/** Benjamini–Hochberg at `alpha` (see adjustPValues). */
export function benjaminiHochberg(pValues: ArrayLike<number>, alpha = 0.05): MultipleTestingResult {
  return adjustPValues(pValues, { method: 'bh', alpha });
}

/** Holm's step-down at `alpha` (see adjustPValues). */
export function holm(pValues: ArrayLike<number>, alpha = 0.05): MultipleTestingResult {
  return adjustPValues(pValues, { method: 'holm', alpha });
}

/** Bonferroni at `alpha` (see adjustPValues). */
export function bonferroni(pValues: ArrayLike<number>, alpha = 0.05): MultipleTestingResult {
  return adjustPValues(pValues, { method: 'bonferroni', alpha });
}

/** Adjusted p-values for a list of test outcomes; outcomes without a p-value (insufficient data) are left out. */
export interface OutcomeAdjustment extends MultipleTestingResult {
  /** Adjusted p-value per outcome in input order, or null for an outcome that had none. */
  readonly adjustedByOutcome: readonly (number | null)[];
}

/**
 * `adjustPValues` over test outcomes: only `status: 'ok'` outcomes are tests (m counts them);
 * `adjusted`, `rejected` and `rejectedIndices` refer to those tests, `adjustedByOutcome` and
 * `rejectedOutcomes` to the input list.
 */
export function adjustTestOutcomes(
  outcomes: readonly (
    | { readonly status: 'ok'; readonly pValue: number }
    | { readonly status: 'insufficient-data' }
  )[],
  options: MultipleTestingOptions = {},
): OutcomeAdjustment & { readonly rejectedOutcomes: readonly number[] } {
  const tested: number[] = [];
  const pValues: number[] = [];
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'ok') {
      tested.push(i);
      pValues.push(outcome.pValue);
    }
  });
  const result = adjustPValues(pValues, options);
  const adjustedByOutcome: (number | null)[] = outcomes.map(() => null);
  tested.forEach((i, k) => {
    adjustedByOutcome[i] = result.adjusted[k]!;
  });
  return {
    ...result,
    adjustedByOutcome,
    rejectedOutcomes: result.rejectedIndices.map((k) => tested[k]!),
  };
}
