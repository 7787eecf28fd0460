import { z } from 'zod';
import { defineVariant } from '../../failure-mode';
import {
  courseOf,
  deliver,
  magnitudeParam,
  meteredFields,
  minFractionsParam,
  pct,
  percentParam,
  perSessionMeterset,
  plannedMeterset,
  planOf,
  primaryOf,
  r2,
  scaleMeterset,
  sessionsOf,
  signedParam,
  startFractionParam,
} from '../../malicious/attack';
import type { Session } from '../../malicious/course';
import { defineMosaiqMode } from '../shared';
import { METERSET_VERSION_WRITES } from './writes';

/** Shared check: the target's plan has `minFractions` sessions from `startFraction` and a metered field. */
function planCheck(
  t: Parameters<typeof courseOf>[1],
  cohort: Parameters<typeof courseOf>[0],
  p: { minFractions: number; startFraction: number },
): string | null {
  const c = courseOf(cohort, t, { minFractions: 1 });
  if ('reason' in c) return c.reason;
  const s = sessionsOf(c.plan, p);
  if ('reason' in s) return s.reason;
  if (!(t.field?.Meterset && t.field.Meterset > 0))
    return `field ${t.treatment.FLD_ID} has Meterset ${t.field?.Meterset}`;
  return null;
}

const from = (sessions: readonly Session[], start: number) => sessions.filter((s) => s.number >= start);

export const subtleDoseEscalation = defineMosaiqMode({
  id: 'subtle_dose_escalation',
  kind: 'malicious',
  scope: 'patient',
  description:
    'Deliberate small dose increases over a course: before each attacked fraction the treatment fields of the plan are edited (a TxField version with a higher Meterset, its control points copied) and the fraction is delivered with that version, so each fraction stays within the per-fraction tolerance while the cumulative dose grows. The approved plan stays the current version.',
  variants: {
    linear_ramp: defineVariant({
      description:
        'Meterset of every treatment field raised by `stepPercent` (default 0.5 %) more at each fraction from `startFraction`, capped at `maxPercent` (default 5 %, a common per-fraction action level): +0.5, +1, +1.5 … % of the planned MU.',
      evidence:
        'Per-fraction Meterset of each field (grouped by FLD_SET_ID, in delivery order) against the approved Version 0: Mann–Kendall trend and Sen slope ≈ stepPercent per fraction; CUSUM on the deviations; cumulative MU over the course above plan.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        stepPercent: magnitudeParam(0.5, 0.05, 5, 'increase added at each fraction (% of the planned MU)'),
        maxPercent: magnitudeParam(5, 0.1, 20, 'largest excess of any fraction (% of the planned MU)'),
        startFraction: startFractionParam(1),
        minFractions: minFractionsParam(5),
      }),
      check: planCheck,
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = meteredFields(cohort, plan);
        const sessions = from(plan.sessions, params.startFraction);
        const excess = (i: number) => Math.min(params.stepPercent * (i + 1), params.maxPercent);
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          perSessionMeterset(fields, sessions, (_s, i) => 1 + excess(i) / 100),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: ${fields.length} fields ramped over ${sessions.length} fractions from fraction ${params.startFraction}, ${pct(excess(0))} → ${pct(excess(sessions.length - 1))} MU`,
        };
      },
    }),
    random_walk: defineVariant({
      description:
        'Meterset of every treatment field changed by a random walk from `startFraction`: each fraction adds a normal step (mean `driftPercent` 0.3 %, sd `stepSdPercent` 0.6 %) to the excess, kept within ±`boundPercent` (6 %); the random steps hide the trend while the positive drift accumulates dose.',
      evidence:
        'Per-fraction Meterset deviations from the approved Version 0 (by FLD_SET_ID, delivery order): one-sided CUSUM on the deviations (k = 0.5 sd) signals the drift; a Mann–Kendall test is weaker against the noise; cumulative MU over plan.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        driftPercent: signedParam(0.3, 0.01, 5, 'mean step of the walk per fraction (% of the planned MU)'),
        stepSdPercent: magnitudeParam(0.6, 0.05, 5, 'standard deviation of a step (%)'),
        boundPercent: magnitudeParam(6, 0.5, 20, 'the excess stays within ±boundPercent'),
        startFraction: startFractionParam(1),
        minFractions: minFractionsParam(5),
      }),
      check: planCheck,
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = meteredFields(cohort, plan);
        const sessions = from(plan.sessions, params.startFraction);
        const walk: number[] = [];
        let e = 0;
        for (let i = 0; i < sessions.length; i++) {
          e = Math.max(
            -params.boundPercent,
            Math.min(params.boundPercent, e + rng.normal(params.driftPercent, params.stepSdPercent)),
          );
          walk.push(e);
        }
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          perSessionMeterset(fields, sessions, (_s, i) => 1 + walk[i]! / 100),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: random walk on ${fields.length} fields over ${sessions.length} fractions, excess ${walk.map((w) => r2(w)).join(', ')} %`,
        };
      },
    }),
    fraction_selective: defineVariant({
      description:
        'A large increase on a few chosen fractions only: Meterset of every treatment field × (1 + `percent`/100) (default +7 %) on the last `count` (3) fractions of the course in the cohort, or on the fraction numbers given; the other fractions are exactly as planned.',
      evidence:
        'Per-fraction Meterset against the approved Version 0: isolated fractions well above plan (a one-sample outlier test on the deviations, or per-fraction QA against the plan); the versions used by those fractions only.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        percent: percentParam(7, 50, 'meterset change on the chosen fractions (%)'),
        fractions: z
          .union([
            z.literal('final'),
            z
              .array(z.number().int().min(1).max(10_000))
              .min(1)
              .refine((a) => new Set(a).size === a.length, 'distinct fraction numbers'),
          ])
          .default('final')
          .describe('"final" (the last `count` fractions) or fraction numbers (1 = first in the cohort)'),
        count: z.number().int().min(1).max(50).default(3).describe('fractions attacked with "final"'),
        minFractions: minFractionsParam(5),
      }),
      check(t, cohort, p) {
        const reason = planCheck(t, cohort, { minFractions: p.minFractions, startFraction: 1 });
        if (reason) return reason;
        const plan = planOf(cohort, t);
        if (p.fractions !== 'final') {
          const missing = p.fractions.find((n: number) => n > plan.sessions.length);
          if (missing !== undefined)
            return `the plan has no fraction ${missing} in the cohort (it has ${plan.sessions.length})`;
        } else if (p.count >= plan.sessions.length) {
          return `the plan has ${plan.sessions.length} fractions in the cohort: attacking the last ${p.count} leaves none as planned`;
        }
        return null;
      },
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = meteredFields(cohort, plan);
        const chosen =
          params.fractions === 'final'
            ? plan.sessions.slice(-params.count)
            : plan.sessions.filter((s) => (params.fractions as number[]).includes(s.number));
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          perSessionMeterset(fields, chosen, () => 1 + params.percent / 100),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: fractions ${chosen.map((s) => s.number).join(', ')} of ${plan.sessions.length} delivered at ${pct(params.percent)} MU on ${fields.length} fields`,
        };
      },
    }),
    field_distributed: defineVariant({
      description:
        'The increase split unevenly over the treatment fields: each field gets its own small excess (random weights) such that the plan’s total MU rises by `percent` (default 4 %), from `startFraction` to the end of the course; no field shows the whole increase.',
      evidence:
        'The per-fraction sum of Meterset over the plan’s fields against the approved versions (a per-patient dose sum): +percent % at every attacked fraction, while each field’s own deviation is smaller; one-sample t-test on the summed deviations.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        percent: percentParam(4, 30, 'increase of the plan’s total meterset per fraction (%)'),
        startFraction: startFractionParam(1),
        minFractions: minFractionsParam(3),
      }),
      check(t, cohort, p) {
        const reason = planCheck(t, cohort, p);
        if (reason) return reason;
        const plan = planOf(cohort, t);
        const n = meteredFields(cohort, plan).length;
        return n < 2
          ? `the plan has ${n} treatment field with a meterset; the increase needs at least 2 to be split`
          : null;
      },
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = meteredFields(cohort, plan);
        const mu = fields.map((f) => plannedMeterset(cohort, f));
        const weights = fields.map(() => rng.uniform(0.3, 1.7));
        const total = mu.reduce((a, b) => a + b, 0);
        const weighted = mu.reduce((a, m, i) => a + m * weights[i]!, 0);
        // Field i gets percent·w_i·ΣMU/Σ(w·MU) %, so Σ ΔMU = percent % of ΣMU.
        const perField = weights.map((w) => (params.percent * w * total) / weighted);
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          fields.map((f, i) => ({
            fractions: f.fractions.filter((x) => x.session >= params.startFraction),
            edit: scaleMeterset(1 + perField[i]! / 100),
          })),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: plan MU ${pct(params.percent)} split over ${fields.length} fields (${perField.map((p) => pct(p)).join(', ')}) from fraction ${params.startFraction}`,
        };
      },
    }),
  },
});
