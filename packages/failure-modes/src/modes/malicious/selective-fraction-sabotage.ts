import type { TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import type { Cohort } from '../../cohort';
import { defineVariant, type VariantContext, type VariantOutcome } from '../../failure-mode';
import {
  courseOf,
  deliver,
  meteredFields,
  minFractionsParam,
  pct,
  percentParam,
  perSessionMeterset,
  planOf,
  primaryOf,
} from '../../malicious/attack';
import type { PlanCourse, Session } from '../../malicious/course';
import { defineMosaiqMode } from '../shared';
import { METERSET_VERSION_WRITES } from './writes';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const payload = { percent: percentParam(15, 60, 'meterset change on a sabotaged fraction (%)') };

/** The plan qualifies and `choose` picks some but not all of its sessions. */
function sabotageCheck(
  cohort: Cohort,
  t: TreatmentRecord,
  minFractions: number,
  choose: (plan: PlanCourse) => readonly Session[] | string,
): string | null {
  const c = courseOf(cohort, t, { minFractions: 1 });
  if ('reason' in c) return c.reason;
  const n = c.plan.sessions.length;
  if (n < minFractions)
    return `the plan of patient ${c.plan.patientId} has ${n} sessions in the cohort; at least ${minFractions} needed`;
  if (!(t.field?.Meterset && t.field.Meterset > 0))
    return `field ${t.treatment.FLD_ID} has Meterset ${t.field?.Meterset}`;
  const chosen = choose(c.plan);
  if (typeof chosen === 'string') return chosen;
  if (chosen.length === 0) return 'no fraction of the plan is selected';
  if (chosen.length === n) return 'every fraction of the plan is selected (nothing is left as planned)';
  return null;
}

function sabotage(
  ctx: VariantContext<{ percent: number }>,
  chosen: readonly Session[],
  why: string,
): VariantOutcome {
  const { target, cohort, params, rng, keys } = ctx;
  const plan = planOf(cohort, target);
  const fields = meteredFields(cohort, plan);
  const writer = deliver(
    { cohort, keys, rng },
    plan,
    perSessionMeterset(fields, chosen, () => 1 + params.percent / 100),
  );
  return {
    changes: writer.changes,
    primaryTtxId: primaryOf(writer.repointed, target, cohort),
    summary: `patient ${plan.patientId}: fractions ${chosen.map((s) => s.number).join(', ')} of ${plan.sessions.length} (${why}) at ${pct(params.percent)} MU on ${fields.length} fields`,
  };
}

/** Sessions by the therapist at the console (the first beam's Staff_ID). */
function byStaff(plan: PlanCourse): Map<number, Session[]> {
  const out = new Map<number, Session[]>();
  for (const s of plan.sessions) {
    const staff = s.fractions.find((f) => f.staffId !== null)?.staffId;
    if (staff == null) continue;
    (out.get(staff) ?? out.set(staff, []).get(staff)!).push(s);
  }
  return out;
}

export const selectiveFractionSabotage = defineMosaiqMode({
  id: 'selective_fraction_sabotage',
  kind: 'malicious',
  scope: 'patient',
  description:
    'Only some fractions sabotaged, each far off plan: on the chosen fractions every treatment field of the plan is delivered at Meterset × (1 + `percent`/100) (default +15 %) through a version used for that fraction only; the other fractions are exactly as planned. The variants differ in which fractions: periodic, random, on chosen weekdays, or those one staff member treats.',
  variants: {
    periodic_attacks: defineVariant({
      description: 'Every `period`-th fraction of the course (default every 5th: fractions 5, 10, 15, …).',
      evidence:
        'Per-fraction deviations from the approved version at a fixed period: the autocorrelation of the deviation series at lag = period, a runs test, the spacing of deviating fractions; per-fraction QA against the plan flags each.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        ...payload,
        period: z.number().int().min(2).max(50).default(5).describe('every period-th fraction is sabotaged'),
        minFractions: minFractionsParam(5),
      }),
      check: (t, cohort, p) =>
        sabotageCheck(cohort, t, p.minFractions, (plan) =>
          plan.sessions.filter((s) => s.number % p.period === 0),
        ),
      apply(ctx) {
        const plan = planOf(ctx.cohort, ctx.target);
        const chosen = plan.sessions.filter((s) => s.number % ctx.params.period === 0);
        return sabotage(ctx, chosen, `every ${ctx.params.period}th`);
      },
    }),
    random_selection: defineVariant({
      description: '`count` fractions (default 3) drawn at random from the course.',
      evidence:
        'Isolated per-fraction deviations from the approved version with no pattern in time (per-fraction QA against the plan; an outlier test on the course’s deviations); no periodicity, weekday or staff correlation to lean on.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        ...payload,
        count: z.number().int().min(1).max(50).default(3).describe('fractions sabotaged'),
        minFractions: minFractionsParam(5),
      }),
      check: (t, cohort, p) =>
        sabotageCheck(cohort, t, Math.max(p.minFractions, p.count + 1), (plan) =>
          plan.sessions.slice(0, p.count),
        ),
      apply(ctx) {
        const plan = planOf(ctx.cohort, ctx.target);
        const chosen = ctx.rng.choice(plan.sessions, ctx.params.count).sort((a, b) => a.number - b.number);
        return sabotage(ctx, chosen, 'at random');
      },
    }),
    calendar_based: defineVariant({
      description:
        'The fractions delivered on chosen weekdays (`weekdays`, 0 = Sunday; default [5], Fridays, when oversight is thinnest before a weekend).',
      evidence:
        'Deviations from the approved version concentrated on one weekday: a chi-square test of deviating fractions by weekday (and by day / hour across patients); per-fraction QA against the plan.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        ...payload,
        weekdays: z
          .array(z.number().int().min(0).max(6))
          .min(1)
          .max(6)
          .refine((a) => new Set(a).size === a.length, 'distinct weekdays')
          .default([5])
          .describe('weekdays sabotaged (0 = Sunday … 6 = Saturday, UTC wall clock)'),
        minFractions: minFractionsParam(5),
      }),
      check: (t, cohort, p) =>
        sabotageCheck(cohort, t, p.minFractions, (plan) =>
          plan.sessions.filter((s) => p.weekdays.includes(s.start.getUTCDay())),
        ),
      apply(ctx) {
        const plan = planOf(ctx.cohort, ctx.target);
        const chosen = plan.sessions.filter((s) => ctx.params.weekdays.includes(s.start.getUTCDay()));
        return sabotage(ctx, chosen, ctx.params.weekdays.map((d) => WEEKDAYS[d]).join(', '));
      },
    }),
    staff_correlated: defineVariant({
      description:
        'The fractions one staff member treats (TrackTreatment.Staff_ID of the session’s beams; `staffId`, default: a seeded choice among the therapists who treated some but not all of the course).',
      evidence:
        'Deviations from the approved version that coincide with one Staff_ID: a Fisher / chi-square test of deviating fractions by therapist (across the course, then across patients with Benjamini–Hochberg), compared with the roster.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        ...payload,
        staffId: z
          .number()
          .int()
          .min(1)
          .max(2_147_483_647)
          .optional()
          .describe('the staff member whose fractions are sabotaged'),
        minFractions: minFractionsParam(5),
      }),
      check: (t, cohort, p) =>
        sabotageCheck(cohort, t, p.minFractions, (plan) => {
          const staff = byStaff(plan);
          if (p.staffId !== undefined)
            return staff.get(p.staffId) ?? `staff ${p.staffId} treated no fraction of the plan`;
          if (staff.size < 2)
            return `one staff member treated every fraction of the plan (${[...staff.keys()].join(', ') || 'none recorded'})`;
          return [...staff.values()][0]!;
        }),
      apply(ctx) {
        const plan = planOf(ctx.cohort, ctx.target);
        const staff = byStaff(plan);
        let id = ctx.params.staffId;
        if (id === undefined) {
          const candidates = [...staff.keys()]
            .filter((s) => staff.get(s)!.length < plan.sessions.length)
            .sort((a, b) => a - b);
          id = candidates[ctx.rng.integer(0, candidates.length)]!;
        }
        return sabotage(ctx, staff.get(id)!, `treated by staff ${id}`);
      },
    }),
  },
});
