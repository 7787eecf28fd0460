import { ValidationError } from '@anomalia/core';

/** Risk scores are binned on [0, 1] into this many equal-width bins. */
export const DRIFT_BINS = 10;
/** Added to every bin before normalising, so empty bins do not make the logarithms infinite. */
export const DRIFT_EPSILON = 1e-6;

/** Bin of a score in [0, 1]: min(floor(s · bins), bins − 1). */
export function binOf(score: number, bins = DRIFT_BINS): number {
  const b = Math.floor(score * bins);
  return b < 0 ? 0 : b >= bins ? bins - 1 : b;
}

/** Counts of scores per bin. Every score must be a finite number in [0, 1]. */
export function histogram(scores: ArrayLike<number>, bins = DRIFT_BINS, field = 'scores'): Float64Array {
  const out = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!(s >= 0 && s <= 1)) throw new ValidationError(`${field}[${i}]`, 'a risk score in [0, 1]', s);
    out[binOf(s, bins)]!++;
  }
  return out;
}

/** p_i = (c_i + ε) / Σ_j (c_j + ε). */
export function smoothedDistribution(counts: ArrayLike<number>, epsilon = DRIFT_EPSILON): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]! + epsilon;
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) out[i] = (counts[i]! + epsilon) / total;
  return out;
}

/** KL(p ‖ q) = Σ p_i ln(p_i / q_i), in nats. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) s += p[i]! * Math.log(p[i]! / q[i]!);
  return s;
}

/** Population stability index Σ (c_i − b_i) ln(c_i / b_i): a symmetrised KL. */
export function populationStabilityIndex(baseline: ArrayLike<number>, current: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < baseline.length; i++)
    s += (current[i]! - baseline[i]!) * Math.log(current[i]! / baseline[i]!);
  return s;
}

/** Jensen–Shannon distance sqrt(½ KL(c‖m) + ½ KL(b‖m)), m = (b + c)/2, in nats (≤ sqrt(ln 2) ≈ 0.83). */
export function jensenShannonDistance(baseline: ArrayLike<number>, current: ArrayLike<number>): number {
  const m = new Float64Array(baseline.length);
  for (let i = 0; i < m.length; i++) m[i] = (baseline[i]! + current[i]!) / 2;
  return Math.sqrt(Math.max(0, 0.5 * klDivergence(current, m) + 0.5 * klDivergence(baseline, m)));
}

export interface DriftMetrics {
  psi: number;
  /** KL(current ‖ baseline). */
  kl: number;
  js: number;
}

/** PSI, KL and JS between two histograms of counts (smoothed with ε). */
export function driftMetrics(
  baselineCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
): DriftMetrics {
  const b = smoothedDistribution(baselineCounts);
  const c = smoothedDistribution(currentCounts);
  return {
    psi: populationStabilityIndex(b, c),
    kl: klDivergence(c, b),
    js: Math.min(1, jensenShannonDistance(b, c)),
  };
}
