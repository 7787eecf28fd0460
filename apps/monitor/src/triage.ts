import {
  BAND_THRESHOLDS,
  bandRank,
  type CriticalTier,
  clampToScale,
  type MaliciousResponseLevel,
  type ResponseTime,
  type RoutingAction,
  recommendMaliciousResponse,
  route,
  type SeverityBand,
} from '@anomalia/severity';
import { mosaiqScale } from '@anomalia/severity/mosaiq';

/**
 * The Mosaiq playbook's steps depend only on band, tier and suspicion: computed once each
 * (`mosaiqScale.route` validates the playbook on every call, too slow for a backlog of 100 000).
 */
const stepsCache = new Map<string, readonly string[]>();
function playbookSteps(band: SeverityBand, tier: CriticalTier | null, suspected: boolean): readonly string[] {
  const key = `${band}/${tier}/${suspected}`;
  let steps = stepsCache.get(key);
  if (!steps) {
    const value = {
      normal: 0,
      low: 0.5,
      medium: 1,
      high: 2,
      critical: { lower: 2.5, middle: 2.7, upper: 2.9 }[tier ?? 'lower'],
    }[band];
    steps = Object.freeze([...mosaiqScale.route(value, { malicious: suspected }).steps]);
    stepsCache.set(key, steps);
  }
  return steps;
}

/** What to do about one scored record, and by when (seed 001's risk-stratified alerting). */
export interface Triage {
  /**
   * The energy clipped to the 0–3 scale (the raw energy is kept alongside), raised to the bottom
   * of `critical` (2.5) when malice is suspected.
   */
  readonly severity: number;
  /** True when suspected malice raised the severity above the energy's. */
  readonly escalated: boolean;
  readonly band: SeverityBand;
  /** 0 normal … 4 critical. */
  readonly rank: number;
  /** critical → page, high → urgent_review, medium → queue, low → log, normal → none. */
  readonly action: RoutingAction;
  readonly tier: CriticalTier | null;
  readonly responseTime: ResponseTime;
  /** detectedAt + the response time's upper bound; null when the band has no deadline. */
  readonly deadlineAt: number | null;
  /** The Mosaiq playbook's steps for the band (and the critical tier's malicious steps when suspected). */
  readonly steps: readonly string[];
  readonly malicious: {
    readonly probability: number;
    /** Above the threshold and the record's own course carries the evidence. */
    readonly suspected: boolean;
    /** Whether the record's own course carries the evidence (false: another field of the patient). */
    readonly ownEvidence: boolean;
    readonly level: MaliciousResponseLevel;
    readonly message: string;
  } | null;
}

export interface TriageOptions {
  readonly detectedAt: number;
  /** Probability of malice from the longitudinal checks (null: not assessed). */
  readonly maliciousProbability?: number | null;
  /** Above this probability a critical finding gets its tier's malicious steps (seed 001: 0.5). */
  readonly maliciousThreshold?: number;
  /**
   * Whether the record's own course carries the evidence behind the probability (default true).
   * False for an untouched field of a suspected patient: it is not raised to critical.
   */
  readonly maliciousOwnEvidence?: boolean;
}

/**
 * energy → band → action, response time and deadline, with the Mosaiq catalogue's playbook. The
 * malicious assessment can only make the response faster (`recommendMaliciousResponse` returns
 * the more urgent of its level's time and the band's), never slower. A suspected malicious
 * finding is critical whatever its energy (seed 001: every malicious mode is ≥ 2.5): an attack
 * spread over a course leaves each fraction looking normal to the model, so its severity is
 * raised to the critical band's lower tier, with that tier's malicious steps. The probability is
 * the patient's, the escalation the record's: only a record whose own course carries evidence is
 * raised (`maliciousOwnEvidence`). The patient's other fields are what the attack left alone; the
 * page for the course with the evidence already names the patient, and paging each untouched
 * field at every delivery would send the reviewer to fields where there is nothing to find.
 * Throws for a non-finite energy: the caller records such a record as invalid.
 */
export function triage(energy: number, options: TriageOptions): Triage {
  const own = clampToScale(energy);
  const p = options.maliciousProbability ?? null;
  const ownEvidence = options.maliciousOwnEvidence ?? true;
  const suspected = p !== null && ownEvidence && p > (options.maliciousThreshold ?? 0.5);
  const severity = suspected ? Math.max(own, BAND_THRESHOLDS.critical) : own;
  const decision = route(severity, { malicious: suspected });
  const recommendation = p === null ? null : recommendMaliciousResponse(severity, p);
  const responseTime = recommendation ? recommendation.responseTime : decision.responseTime;
  return {
    severity,
    escalated: severity > own,
    band: decision.band,
    rank: bandRank(decision.band),
    action: decision.action,
    tier: decision.tier,
    responseTime,
    deadlineAt:
      responseTime.maxMinutes === null ? null : options.detectedAt + responseTime.maxMinutes * 60_000,
    steps: playbookSteps(decision.band, decision.tier, suspected),
    malicious:
      p === null
        ? null
        : {
            probability: p,
            suspected,
            ownEvidence,
            level: recommendation!.level,
            message: recommendation!.message,
          },
  };
}
