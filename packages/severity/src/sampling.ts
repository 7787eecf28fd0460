import { z } from 'zod';
import type { SeverityBand } from './bands';
import { SeverityValidationError } from './errors';
import { parseWith } from './validate';

/**
 * Strata of a severity-balanced training set: the five bands, with critical split by kind so
 * that rare malicious examples are not crowded out by accidental critical ones.
 */
export const STRATA = [
  'normal',
  'low',
  'medium',
  'high',
  'critical_accidental',
  'critical_malicious',
] as const;
export type Stratum = (typeof STRATA)[number];

/** The band each stratum samples from. */
export const STRATUM_BAND: Readonly<Record<Stratum, SeverityBand>> = Object.freeze({
  normal: 'normal',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical_accidental: 'critical',
  critical_malicious: 'critical',
});

/** Seed 001's severity-balanced mix: 50 / 15 / 15 / 10 / 5 / 5 %. */
export const DEFAULT_SAMPLING_MIX: Readonly<Record<Stratum, number>> = Object.freeze({
  normal: 0.5,
  low: 0.15,
  medium: 0.15,
  high: 0.1,
  critical_accidental: 0.05,
  critical_malicious: 0.05,
});

/** Relative weights per stratum; they are normalised, and a missing stratum weighs 0. */
export const SamplingMixSchema = z
  .partialRecord(z.enum(STRATA), z.number().min(0).refine(Number.isFinite, 'a finite number'))
  .refine((mix) => Object.values(mix).some((w) => w !== undefined && w > 0), 'at least one positive weight');
export type SamplingMix = z.input<typeof SamplingMixSchema>;

const countSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * Splits `n` into integer parts proportional to `weights` that sum exactly to `n` (largest
 * remainder / Hamilton method): each part gets ⌊n·wᵢ/Σw⌋, then the leftover units go to the
 * largest fractional remainders; ties go to the earlier entry, so the result is deterministic.
 */
export function allocateLargestRemainder(n: number, weights: readonly number[]): number[] {
  parseWith(countSchema, n, 'n');
  if (!Array.isArray(weights) || weights.length === 0) {
    throw new SeverityValidationError('weights', 'a non-empty array of non-negative numbers', weights);
  }
  weights.forEach((w, i) => {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new SeverityValidationError(`weights[${i}]`, 'a finite non-negative number', w);
    }
  });
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new SeverityValidationError('weights', 'at least one positive weight', weights);
  const quotas = weights.map((w) => (n * w) / total);
  // The 1e-9 keeps 0.29·100 = 28.999999999999996 from flooring to 28.
  const counts = quotas.map((q) => Math.floor(q + 1e-9));
  let left = n - counts.reduce((a, b) => a + b, 0);
  const order = quotas
    .map((q, i) => ({ i, remainder: q - counts[i]!, positive: weights[i]! > 0 }))
    .filter((x) => x.positive)
    .sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) counts[order[k]!.i]!++;
  return counts;
}

/** Number of samples per stratum for a training set of `n` records; the counts sum to `n`. */
export function samplingPlan(n: number, mix: SamplingMix = DEFAULT_SAMPLING_MIX): Record<Stratum, number> {
  const parsed = parseWith(SamplingMixSchema, mix, 'mix');
  const counts = allocateLargestRemainder(
    n,
    STRATA.map((s) => parsed[s] ?? 0),
  );
  return Object.fromEntries(STRATA.map((s, i) => [s, counts[i]!])) as Record<Stratum, number>;
}
