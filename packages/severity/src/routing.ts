import { z } from 'zod';
import { BAND_IDS, categorize, type SeverityBand } from './bands';
import { SeverityValidationError } from './errors';
import { parseWith } from './validate';

/** What to do with a finding, by band: critical → page, high → urgent review, medium → queue, low → log. */
export type RoutingAction = 'none' | 'log' | 'queue' | 'urgent_review' | 'page';

export const ROUTING_ACTIONS: Readonly<Record<SeverityBand, RoutingAction>> = Object.freeze({
  normal: 'none',
  low: 'log',
  medium: 'queue',
  high: 'urgent_review',
  critical: 'page',
});

/** How fast someone must respond. `maxMinutes: null` means no deadline. */
export interface ResponseTime {
  readonly label: string;
  readonly minMinutes: number;
  readonly maxMinutes: number | null;
}

const responseTimeOf = (label: string, minMinutes: number, maxMinutes: number | null): ResponseTime =>
  Object.freeze({ label, minMinutes, maxMinutes });

/** Response time per band below critical (seed 001's summary table). */
export const BAND_RESPONSE_TIMES: Readonly<Record<Exclude<SeverityBand, 'critical'>, ResponseTime>> =
  Object.freeze({
    normal: responseTimeOf('none', 0, null),
    low: responseTimeOf('days (routine data-quality review)', 0, null),
    medium: responseTimeOf('within 24 hours', 0, 24 * 60),
    high: responseTimeOf('1–4 hours', 60, 4 * 60),
  });

/** Sub-ranges of the critical band, each with its own response time. */
export type CriticalTier = 'lower' | 'middle' | 'upper';

export interface CriticalTierDefinition {
  readonly id: CriticalTier;
  /** Inclusive lower bound; the tier runs up to the next tier's `min` (exclusive) or 3.0 (inclusive). */
  readonly min: number;
  /** The sub-range as seed 001 writes it (2.5–2.6, 2.7–2.8, 2.9–3.0). */
  readonly documented: { readonly min: number; readonly max: number };
  readonly responseTime: ResponseTime;
}

/**
 * Seed 001's response times for critical findings: 2.5–2.6 → 30–60 min, 2.7–2.8 → 15–30 min,
 * 2.9–3.0 → immediate (< 15 min). A value between documented sub-ranges (2.65, 2.85) belongs to
 * the lower tier, by the same rule as the bands: a tier starts at its documented lower bound.
 * The tiers apply to every critical value: their union is the critical band's 15–60 min, so an
 * accidental 2.8 (wrong patient) is as urgent as a malicious 2.8. Malice adds steps, not minutes.
 */
export const CRITICAL_TIERS: readonly CriticalTierDefinition[] = Object.freeze([
  tier('lower', 2.5, [2.5, 2.6], responseTimeOf('30–60 min', 30, 60)),
  tier('middle', 2.7, [2.7, 2.8], responseTimeOf('15–30 min', 15, 30)),
  tier('upper', 2.9, [2.9, 3.0], responseTimeOf('immediate (< 15 min)', 0, 15)),
]);

function tier(
  id: CriticalTier,
  min: number,
  documented: [number, number],
  responseTime: ResponseTime,
): CriticalTierDefinition {
  return Object.freeze({
    id,
    min,
    documented: Object.freeze({ min: documented[0], max: documented[1] }),
    responseTime,
  });
}

/** The critical sub-range of `value`, or null when `value` is below the critical band. */
export function criticalTier(value: number): CriticalTier | null {
  if (categorize(value) !== 'critical') return null;
  let found: CriticalTier = 'lower';
  for (const t of CRITICAL_TIERS) if (value >= t.min) found = t.id;
  return found;
}

/** How fast a finding of severity `value` must be answered. */
export function responseTime(value: number): ResponseTime {
  const band = categorize(value);
  if (band !== 'critical') return BAND_RESPONSE_TIMES[band];
  const id = criticalTier(value)!;
  return CRITICAL_TIERS.find((t) => t.id === id)!.responseTime;
}

/** The more urgent of two response times (the one with the earlier deadline; no deadline is least urgent). */
export function moreUrgent(a: ResponseTime, b: ResponseTime): ResponseTime {
  if (a.maxMinutes === null) return b;
  if (b.maxMinutes === null) return a;
  return b.maxMinutes < a.maxMinutes ? b : a;
}

const stepsSchema = z.array(z.string().min(1)).min(1);

/**
 * The concrete steps behind each action, per band, plus the extra steps for a critical finding
 * suspected to be malicious, per critical tier. A catalogue may carry its own playbook (the
 * Mosaiq one carries seed 001's clinical steps); anything missing falls back to DEFAULT_PLAYBOOK.
 */
export const PlaybookSchema = z.strictObject({
  bands: z.partialRecord(z.enum(BAND_IDS), stepsSchema).optional(),
  malicious: z.partialRecord(z.enum(['lower', 'middle', 'upper']), stepsSchema).optional(),
});
export type Playbook = z.output<typeof PlaybookSchema>;

/** Domain-neutral steps, used when a catalogue brings no playbook of its own. */
export const DEFAULT_PLAYBOOK = Object.freeze({
  bands: {
    normal: ['Standard workflow: no action'],
    low: ['Log for trend analysis', 'Fix during the routine data-quality review'],
    medium: [
      'Queue for review within 24 hours',
      'Investigate the root cause',
      'Correct the data and prevent recurrence',
    ],
    high: [
      'Urgent review within 1–4 hours',
      'Hold dependent operations until reviewed',
      'Verify against an independent record',
      'Document the investigation and its resolution',
    ],
    critical: [
      'Page the on-call responder',
      'Stop dependent operations immediately',
      'Verify against independent sources',
      'Open an incident per policy',
    ],
  },
  malicious: {
    lower: ['Expert review', 'Enhanced checks on the next occurrence', 'Start a forensic investigation'],
    middle: [
      'Expert review',
      'Enhanced checks on the next occurrence',
      'Start a forensic investigation',
      'Assign an incident commander',
      'Notify the security team',
    ],
    upper: [
      'Halt every affected operation',
      'Emergency expert review',
      'Activate incident command',
      'Notify law enforcement',
      'Report to regulators (within hours)',
      'Preserve forensic data',
    ],
  },
} satisfies Required<{ bands: Record<SeverityBand, string[]>; malicious: Record<CriticalTier, string[]> }>);

export interface RouteOptions {
  /** The finding is (suspected to be) malicious: critical findings get the tier's malicious steps too. */
  readonly malicious?: boolean;
  /** Steps to use instead of DEFAULT_PLAYBOOK (missing entries fall back to it). */
  readonly playbook?: Playbook;
}

export interface RoutingDecision {
  readonly value: number;
  readonly band: SeverityBand;
  readonly action: RoutingAction;
  readonly responseTime: ResponseTime;
  /** Critical sub-range, or null below critical. */
  readonly tier: CriticalTier | null;
  readonly malicious: boolean;
  /** Band steps, then (critical and malicious only) the tier's malicious steps. */
  readonly steps: readonly string[];
}

/** Risk-stratified routing: what to do with a finding of severity `value`, and how fast. */
export function route(value: number, options: RouteOptions = {}): RoutingDecision {
  if (options.malicious !== undefined && typeof options.malicious !== 'boolean') {
    throw new SeverityValidationError('options.malicious', 'a boolean', options.malicious);
  }
  const playbook = options.playbook ? parseWith(PlaybookSchema, options.playbook, 'options.playbook') : {};
  const band = categorize(value);
  const tierId = criticalTier(value);
  const malicious = options.malicious ?? false;
  const steps = [...(playbook.bands?.[band] ?? DEFAULT_PLAYBOOK.bands[band])];
  if (malicious && tierId)
    steps.push(...(playbook.malicious?.[tierId] ?? DEFAULT_PLAYBOOK.malicious[tierId]));
  return {
    value,
    band,
    action: ROUTING_ACTIONS[band],
    responseTime: responseTime(value),
    tier: tierId,
    malicious,
    steps,
  };
}
