import { z } from 'zod';
import { BAND_THRESHOLDS, categorize, type SeverityBand } from './bands';
import { SeverityValidationError } from './errors';
import { moreUrgent, type ResponseTime, responseTime } from './routing';
import { assertSeverity, assertUnitInterval, parseWith, SCALE_MAX } from './validate';

// ---------------------------------------------------------------------------------------------
// Severity of a malicious finding from five factors (seed 001, "Severity Factors").
// ---------------------------------------------------------------------------------------------

/** Seed 001's weights; they sum to 1, so the weighted score stays in [0, 1]. */
export const MALICIOUS_FACTOR_WEIGHTS = Object.freeze({
  /** Actual patient (or asset) harm potential. */
  clinicalImpact: 0.3,
  /** Deliberate malice rather than accident. */
  intent: 0.3,
  /** How hard the change is to detect. */
  evasion: 0.2,
  /** Whether the attack can go on over time. */
  persistence: 0.1,
  /** How hard it is to identify the perpetrator. */
  attribution: 0.1,
});

export type MaliciousFactor = keyof typeof MALICIOUS_FACTOR_WEIGHTS;

const unit = z.number().min(0).max(1);
/** Each factor is a judgement in [0, 1]; all five are required so none is forgotten silently. */
export const MaliciousFactorsSchema = z.strictObject({
  clinicalImpact: unit,
  intent: unit,
  evasion: unit,
  persistence: unit,
  attribution: unit,
});
export type MaliciousFactors = z.output<typeof MaliciousFactorsSchema>;

export interface MaliciousSeverity {
  /** 2.5 + 0.5 · weightedScore, rounded to 0.1 (the catalogue's resolution). */
  readonly value: number;
  /** 2.5 + 0.5 · weightedScore, unrounded. */
  readonly exact: number;
  /** Σ weight · factor, in [0, 1]. */
  readonly weightedScore: number;
}

/**
 * Severity of a malicious finding: 2.5 + 0.5 · Σ wᵢ·fᵢ, rounded to one decimal.
 *
 * Every malicious finding is critical (seed 001: "all malicious failure modes have severity
 * ≥ 2.5"), so the factors only place it inside the critical band: a score of 0 gives 2.5, a score
 * of 1 gives 3.0. Rounding to 0.1 matches the catalogue's values and avoids reading precision
 * into what are coarse human judgements.
 */
export function maliciousSeverity(factors: MaliciousFactors): MaliciousSeverity {
  const parsed = parseWith(MaliciousFactorsSchema, factors, 'factors');
  let weightedScore = 0;
  for (const [name, weight] of Object.entries(MALICIOUS_FACTOR_WEIGHTS)) {
    weightedScore += weight * parsed[name as MaliciousFactor];
  }
  weightedScore = Math.min(1, weightedScore); // float sums of weights 1 may exceed 1 by an ulp
  const exact = BAND_THRESHOLDS.critical + (SCALE_MAX - BAND_THRESHOLDS.critical) * weightedScore;
  // +1e-9 so that halves computed in floating point (2.95 → 2.9499999…) round up, as written.
  const value = Math.min(SCALE_MAX, Math.round(exact * 10 + 1e-9) / 10);
  return { value, exact, weightedScore };
}

export interface Escalation {
  readonly from: number;
  readonly to: number;
  readonly escalated: boolean;
  readonly band: SeverityBand;
  /** The malicious severity the factors imply (null when intent is 0: no escalation considered). */
  readonly malicious: MaliciousSeverity | null;
}

/**
 * Escalates an accidental severity when malicious factors are present: the result is
 * max(severity, maliciousSeverity(factors)), so it never lowers a severity. With `intent = 0`
 * there is no evidence of deliberate action, nothing is escalated, and the severity is returned
 * unchanged: an accident that is hard to detect is still an accident.
 *
 * Seed 001's example (MLC aperture shift): accidental 1.8; deliberate, systematic, within
 * tolerance, targeted, audit trail touched → 3.0.
 */
export function escalateSeverity(severity: number, factors: MaliciousFactors): Escalation {
  assertSeverity(severity, 'severity');
  const parsed = parseWith(MaliciousFactorsSchema, factors, 'factors');
  if (parsed.intent === 0) {
    return { from: severity, to: severity, escalated: false, band: categorize(severity), malicious: null };
  }
  const malicious = maliciousSeverity(parsed);
  const to = Math.max(severity, malicious.value);
  return { from: severity, to, escalated: to > severity, band: categorize(to), malicious };
}

// ---------------------------------------------------------------------------------------------
// Probability that a high-energy finding is malicious, from independent indicators.
// ---------------------------------------------------------------------------------------------

/** Seed 001's confidence of each indicator, on its own, that a finding is malicious. */
export const MALICIOUS_INDICATOR_WEIGHTS: Readonly<Record<string, number>> = Object.freeze({
  /** Three or more independent anomaly types at once. */
  multiple_anomalies: 0.8,
  /** Values shaped to avoid outlier detection. */
  statistical_evasion: 0.7,
  /** Anomalies clustered in time (selective attacks). */
  temporal_pattern: 0.6,
  /** Audit-trail gaps, forgeries or impossible activity. */
  audit_issues: 0.9,
  /** Anomalies concentrated on one patient group. */
  targeting: 0.9,
});

/** Active indicators: a list of ids, or an object of id → boolean (false entries are ignored). */
export type IndicatorInput = Iterable<string> | Readonly<Record<string, boolean>>;

export interface ProbabilityOptions {
  /** Indicator id → confidence in [0, 1]. Defaults to MALICIOUS_INDICATOR_WEIGHTS. */
  readonly weights?: Readonly<Record<string, number>>;
}

/**
 * Noisy-OR: P(malicious) = 1 − Πᵢ (1 − pᵢ) over the active indicators.
 *
 * Each indicator is read as an independent piece of evidence that, alone, would establish malice
 * with probability pᵢ; the finding is benign only if every piece of evidence fails to. So each
 * extra indicator can only raise the probability, and no evidence gives 0. The original took the
 * mean of the active weights, so adding a 0.6 indicator to a 0.9 one *lowered* the probability.
 * Noisy-OR overstates the probability when indicators are correlated (one attack tripping two of
 * them); treat it as an upper bound and keep the weights conservative for such pairs.
 */
export function maliciousProbability(indicators: IndicatorInput, options: ProbabilityOptions = {}): number {
  const weights = resolveWeights(options.weights);
  let benign = 1;
  for (const id of activeIndicators(indicators, weights)) benign *= 1 - weights[id]!;
  return 1 - benign;
}

function resolveWeights(
  weights: Readonly<Record<string, number>> | undefined,
): Readonly<Record<string, number>> {
  if (weights === undefined) return MALICIOUS_INDICATOR_WEIGHTS;
  if (weights === null || typeof weights !== 'object') {
    throw new SeverityValidationError(
      'options.weights',
      'an object of indicator id → number in [0, 1]',
      weights,
    );
  }
  for (const [id, w] of Object.entries(weights)) assertUnitInterval(w, `options.weights.${id}`);
  return weights;
}

function activeIndicators(indicators: IndicatorInput, weights: Readonly<Record<string, number>>): string[] {
  if (indicators == null || typeof indicators !== 'object') {
    throw new SeverityValidationError(
      'indicators',
      'a list of indicator ids or an object of id → boolean',
      indicators,
    );
  }
  const ids: string[] = [];
  if (Symbol.iterator in indicators) {
    for (const id of indicators as Iterable<string>) ids.push(id);
  } else {
    for (const [id, on] of Object.entries(indicators)) {
      if (typeof on !== 'boolean') throw new SeverityValidationError(`indicators.${id}`, 'a boolean', on);
      if (on) ids.push(id);
    }
  }
  const known = Object.keys(weights);
  const unique = [...new Set(ids)];
  for (const id of unique) {
    if (typeof id !== 'string' || !Object.hasOwn(weights, id)) {
      throw new SeverityValidationError('indicators', `indicator ids among ${known.join(', ')}`, id);
    }
  }
  return unique;
}

// ---------------------------------------------------------------------------------------------
// Recommendation from energy and malicious probability.
// ---------------------------------------------------------------------------------------------

export type MaliciousResponseLevel =
  | 'high_confidence_malicious'
  | 'forensic_investigation'
  | 'accidental_high'
  | 'routine';

export interface MaliciousRecommendation {
  readonly level: MaliciousResponseLevel;
  readonly message: string;
  /** The level's own response time. */
  readonly levelResponseTime: ResponseTime;
  /** The more urgent of the level's response time and the band routing's (see `responseTime`). */
  readonly responseTime: ResponseTime;
}

const LEVELS: Readonly<Record<MaliciousResponseLevel, { message: string; time: ResponseTime }>> =
  Object.freeze({
    high_confidence_malicious: {
      message: 'HIGH CONFIDENCE MALICIOUS: immediate incident response',
      time: { label: 'immediate (< 15 min)', minMinutes: 0, maxMinutes: 15 },
    },
    forensic_investigation: {
      message: 'Possible malicious activity: forensic investigation',
      time: { label: '15–60 min', minMinutes: 15, maxMinutes: 60 },
    },
    accidental_high: {
      message: 'Likely accidental, high severity: urgent review',
      time: { label: '1–4 hours', minMinutes: 60, maxMinutes: 240 },
    },
    routine: {
      message: 'Routine review',
      time: { label: 'within 24 hours', minMinutes: 0, maxMinutes: 24 * 60 },
    },
  });

/**
 * energy ≥ 2.7 and p > 0.7 → high-confidence malicious (< 15 min); energy ≥ 2.5 and p > 0.5 →
 * forensic investigation (15–60 min); energy ≥ 2.0 → accidental high (1–4 h); else routine (24 h).
 * The effective `responseTime` is never slower than the band routing's: an energy of 2.8 with a
 * low probability is "accidental", but still a critical finding to answer within 15–30 min.
 */
export function recommendMaliciousResponse(energy: number, probability: number): MaliciousRecommendation {
  assertSeverity(energy, 'energy');
  assertUnitInterval(probability, 'probability');
  let level: MaliciousResponseLevel;
  if (energy >= 2.7 && probability > 0.7) level = 'high_confidence_malicious';
  else if (energy >= 2.5 && probability > 0.5) level = 'forensic_investigation';
  else if (energy >= 2.0) level = 'accidental_high';
  else level = 'routine';
  const { message, time } = LEVELS[level];
  return { level, message, levelResponseTime: time, responseTime: moreUrgent(time, responseTime(energy)) };
}

export interface MaliceAssessment {
  readonly energy: number;
  readonly band: SeverityBand;
  readonly maliciousProbability: number;
  /** Active indicators with their weights, in input order. */
  readonly indicators: readonly { readonly id: string; readonly weight: number }[];
  readonly recommendation: MaliciousRecommendation;
}

/** Energy + active indicators → malicious probability (noisy-OR) and a recommendation. */
export function assessMalice(
  energy: number,
  indicators: IndicatorInput,
  options: ProbabilityOptions = {},
): MaliceAssessment {
  assertSeverity(energy, 'energy');
  const weights = resolveWeights(options.weights);
  const active = activeIndicators(indicators, weights);
  const p = maliciousProbability(active, { weights });
  return {
    energy,
    band: categorize(energy),
    maliciousProbability: p,
    indicators: active.map((id) => ({ id, weight: weights[id]! })),
    recommendation: recommendMaliciousResponse(energy, p),
  };
}

// ---------------------------------------------------------------------------------------------
// Graded evidence: how strongly each indicator is present, not only whether it is.
// ---------------------------------------------------------------------------------------------

/** Indicator id → strength in [0, 1] (0 = absent, 1 = fully present); ids absent from it count as 0. */
export type EvidenceStrengths = Readonly<Record<string, number>>;

/**
 * Noisy-OR over graded evidence: P(malicious) = 1 − Πᵢ (1 − wᵢ·sᵢ), with wᵢ the indicator's
 * confidence (MALICIOUS_INDICATOR_WEIGHTS by default) and sᵢ ∈ [0, 1] how strongly the evidence
 * shows it (e.g. 1 − p of the test that found it). With strengths 0 and 1 only, this is
 * `maliciousProbability` of the indicators at 1. A strength of 0 adds nothing, so weak evidence
 * can only raise the probability a little.
 */
export function maliciousProbabilityFromEvidence(
  strengths: EvidenceStrengths,
  options: ProbabilityOptions = {},
): number {
  const weights = resolveWeights(options.weights);
  let benign = 1;
  for (const [id, s] of checkedStrengths(strengths, weights)) benign *= 1 - weights[id]! * s;
  return 1 - benign;
}

function checkedStrengths(
  strengths: EvidenceStrengths,
  weights: Readonly<Record<string, number>>,
): [string, number][] {
  if (strengths === null || typeof strengths !== 'object' || Array.isArray(strengths)) {
    throw new SeverityValidationError(
      'evidence',
      'an object of indicator id → strength in [0, 1]',
      strengths,
    );
  }
  const out: [string, number][] = [];
  for (const [id, s] of Object.entries(strengths)) {
    if (!Object.hasOwn(weights, id)) {
      throw new SeverityValidationError(
        'evidence',
        `indicator ids among ${Object.keys(weights).join(', ')}`,
        id,
      );
    }
    assertUnitInterval(s, `evidence.${id}`);
    out.push([id, s]);
  }
  return out;
}

export interface EvidenceAssessment {
  readonly energy: number;
  readonly band: SeverityBand;
  readonly maliciousProbability: number;
  /** Indicators with a positive strength: weight, strength and their product (the contribution's confidence). */
  readonly indicators: readonly {
    readonly id: string;
    readonly weight: number;
    readonly strength: number;
    readonly confidence: number;
  }[];
  readonly recommendation: MaliciousRecommendation;
}

/** Energy + graded evidence → malicious probability (graded noisy-OR) and a recommendation. */
export function assessMaliceFromEvidence(
  energy: number,
  strengths: EvidenceStrengths,
  options: ProbabilityOptions = {},
): EvidenceAssessment {
  assertSeverity(energy, 'energy');
  const weights = resolveWeights(options.weights);
  const checked = checkedStrengths(strengths, weights).filter(([, s]) => s > 0);
  const p = maliciousProbabilityFromEvidence(Object.fromEntries(checked), { weights });
  return {
    energy,
    band: categorize(energy),
    maliciousProbability: p,
    indicators: checked.map(([id, s]) => ({
      id,
      weight: weights[id]!,
      strength: s,
      confidence: weights[id]! * s,
    })),
    recommendation: recommendMaliciousResponse(energy, p),
  };
}
