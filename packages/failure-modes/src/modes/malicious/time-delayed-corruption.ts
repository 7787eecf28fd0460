import type { TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import type { Cohort } from '../../cohort';
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
  planOf,
  primaryOf,
  r2,
} from '../../malicious/attack';
import type { PlanCourse, Session } from '../../malicious/course';
import { dateParam, toDate } from '../../params';
import { defineMosaiqMode } from '../shared';
import { METERSET_VERSION_WRITES } from './writes';

const DAY_MS = 86_400_000;

const activateAtParam = dateParam
  .optional()
  .describe('activation time (default: midnight before the middle fraction of the course in the cohort)');

/** When the planted change activates: the given time, else midnight (UTC) before the middle session. */
function activation(plan: PlanCourse, at: Date | string | number | undefined): Date {
  if (at !== undefined) return toDate(at);
  const middle = plan.sessions[Math.floor(plan.sessions.length / 2)]!.start.getTime();
  return new Date(Math.floor(middle / DAY_MS) * DAY_MS);
}

/** The plan qualifies and has sessions on both sides of the activation. */
function delayedCheck(
  cohort: Cohort,
  t: TreatmentRecord,
  p: { minFractions: number; activateAt?: Date | string | number },
): string | null {
  const c = courseOf(cohort, t, { minFractions: 1 });
  if ('reason' in c) return c.reason;
  const n = c.plan.sessions.length;
  if (n < p.minFractions)
    return `the plan of patient ${c.plan.patientId} has ${n} sessions in the cohort; at least ${p.minFractions} needed`;
  if (!(t.field?.Meterset && t.field.Meterset > 0))
    return `field ${t.treatment.FLD_ID} has Meterset ${t.field?.Meterset}`;
  const at = activation(c.plan, p.activateAt).getTime();
  const before = c.plan.sessions.filter((s) => s.start.getTime() < at).length;
  if (before === 0)
    return `no fraction of the plan is delivered before the activation (${new Date(at).toISOString()})`;
  if (before === n)
    return `no fraction of the plan is delivered after the activation (${new Date(at).toISOString()})`;
  return null;
}

const after = (plan: PlanCourse, at: Date) => plan.sessions.filter((s) => s.start.getTime() >= at.getTime());

/** Whether an image was acquired in a session: a Version-0 Offset of the site set during it (or up to 2 h before). */
function imaged(cohort: Cohort, plan: PlanCourse, s: Session): boolean {
  const from = s.start.getTime() - 2 * 3600_000;
  const to = s.end.getTime() + 3600_000;
  return cohort.rowsWhere('Offset', 'SIT_SET_ID', plan.siteSetId).some((o) => {
    const t = o.Study_DtTm?.getTime();
    return o.Version === 0 && t !== undefined && t >= from && t <= to;
  });
}

function conditionHolds(
  cohort: Cohort,
  plan: PlanCourse,
  s: Session,
  p: { condition: 'no_imaging' | 'late_session'; hour: number },
): boolean {
  return p.condition === 'no_imaging' ? !imaged(cohort, plan, s) : s.start.getUTCHours() >= p.hour;
}

export const timeDelayedCorruption = defineMosaiqMode({
  id: 'time_delayed_corruption',
  kind: 'malicious',
  scope: 'patient',
  description:
    'A change planted in the plan that takes effect later, after the plan was verified (the QA-mode verification deliveries used the approved version): from a date, only when a condition holds, at every delivery through a database trigger, or growing after activation. The treatment fields of the plan are delivered with higher-MU versions only from the activation on.',
  variants: {
    scheduled_activation: defineVariant({
      description:
        'From `activateAt` (default: midnight before the middle fraction of the course), every treatment field is delivered at Meterset × (1 + `percent`/100) (default +8 %); the version is stamped at the activation time itself (a scheduled job), with the planner’s Edit_ID left as it was.',
      evidence:
        'The per-fraction Meterset series of each field steps at one date (Welch t before/after, a CUSUM change point at the activation fraction); the version’s Edit_DtTm at a round clock time outside working hours; a checksum of the verified record no longer matches.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        percent: percentParam(8, 50, 'meterset change after activation (%)'),
        activateAt: activateAtParam,
        minFractions: minFractionsParam(4),
      }),
      check: (t, cohort, p) => delayedCheck(cohort, t, p),
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const at = activation(plan, params.activateAt);
        const fields = meteredFields(cohort, plan);
        const sessions = after(plan, at);
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          fields.map((f) => ({
            fractions: f.fractions.filter((x) => sessions.some((s) => s.number === x.session)),
            edit: { meterset: (mu: number) => mu * (1 + params.percent / 100) },
          })),
          (_first, base) => ({ editedAt: at, editorId: base?.Edit_ID ?? null }),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: activated ${at.toISOString()}, fractions ${sessions[0]!.number}–${sessions[sessions.length - 1]!.number} of ${plan.sessions.length} at ${pct(params.percent)} MU on ${fields.length} fields`,
        };
      },
    }),
    conditional_execution: defineVariant({
      description:
        'Active only on fractions where a condition holds, so tests rarely trigger it: `condition` "no_imaging" (default; no set-up image, i.e. no Offset acquired in the session) or "late_session" (the session starts at or after `hour`, UTC wall clock); those fractions get Meterset × (1 + `percent`/100) (default +8 %) on every treatment field.',
      evidence:
        'Per-fraction deviations from the approved version split by the condition: deviations only on non-imaged (or late) fractions (a two-sample test of deviation by imaging status / hour); imaging days, the ones reviewed, always look clean.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        percent: percentParam(8, 50, 'meterset change when the condition holds (%)'),
        condition: z
          .enum(['no_imaging', 'late_session'])
          .default('no_imaging')
          .describe('when the change is active'),
        hour: z
          .number()
          .int()
          .min(0)
          .max(23)
          .default(16)
          .describe('first hour of a "late_session" (UTC wall clock)'),
        minFractions: minFractionsParam(4),
      }),
      check(t, cohort, p) {
        const c = courseOf(cohort, t, { minFractions: 1 });
        if ('reason' in c) return c.reason;
        const n = c.plan.sessions.length;
        if (n < p.minFractions)
          return `the plan has ${n} sessions in the cohort; at least ${p.minFractions} needed`;
        if (!(t.field?.Meterset && t.field.Meterset > 0))
          return `field ${t.treatment.FLD_ID} has Meterset ${t.field?.Meterset}`;
        const hits = c.plan.sessions.filter((s) => conditionHolds(cohort, c.plan, s, p)).length;
        if (hits === 0) return `the condition ${p.condition} holds in no fraction of the plan`;
        if (hits === n)
          return `the condition ${p.condition} holds in every fraction of the plan (nothing stays as planned)`;
        return null;
      },
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = meteredFields(cohort, plan);
        const sessions = plan.sessions.filter((s) => conditionHolds(cohort, plan, s, params));
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          fields.map((f) => ({
            fractions: f.fractions.filter((x) => sessions.some((s) => s.number === x.session)),
            edit: { meterset: (mu: number) => mu * (1 + params.percent / 100) },
          })),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: ${params.condition} holds in fractions ${sessions.map((s) => s.number).join(', ')} of ${plan.sessions.length}: ${pct(params.percent)} MU on ${fields.length} fields`,
        };
      },
    }),
    database_trigger: defineVariant({
      description:
        'An AFTER INSERT trigger on TrackTreatment raises the field’s Meterset by `percentPerFraction` (default 1.5 %) after each delivery from `activateAt` on, compounding: the k-th fraction after activation gets × (1 + p/100)^k. A trigger writes no audit columns: every version keeps the Edit_DtTm and Edit_ID of the version before it.',
      evidence:
        'Field versions whose values changed while Edit_DtTm / Edit_ID did not (edits outside the application, found by comparing consecutive versions of a FLD_SET_ID); a compounding MU series after the activation (Mann–Kendall, Sen slope on log MU); an audit of sys.triggers on the server.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        percentPerFraction: magnitudeParam(1.5, 0.1, 10, 'meterset increase at each firing (%, compounding)'),
        activateAt: activateAtParam,
        minFractions: minFractionsParam(4),
      }),
      check: (t, cohort, p) => delayedCheck(cohort, t, p),
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const at = activation(plan, params.activateAt);
        const fields = meteredFields(cohort, plan);
        const sessions = after(plan, at);
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          perSessionMeterset(fields, sessions, (_s, i) => (1 + params.percentPerFraction / 100) ** (i + 1)),
          (_first, base) => ({ editedAt: base?.Edit_DtTm ?? null, editorId: base?.Edit_ID ?? null }),
        );
        const last = (1 + params.percentPerFraction / 100) ** sessions.length;
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: trigger from ${at.toISOString()}, ${sessions.length} fractions compounding to ${pct((last - 1) * 100)} MU, audit columns untouched`,
        };
      },
    }),
    gradual_onset: defineVariant({
      description:
        'From `activateAt` the change starts small and grows: the k-th fraction after activation gets Meterset × (1 + `percent`/100 × min(1, k/`onsetFractions`)) (default up to +6 % over 5 fractions), then holds; it blends into drift.',
      evidence:
        'A change point followed by a trend in the per-fraction Meterset series (CUSUM from the activation fraction, Mann–Kendall over the onset), then a plateau above the approved version.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        percent: percentParam(6, 50, 'meterset change once fully active (%)'),
        onsetFractions: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(5)
          .describe('fractions to reach the full change'),
        activateAt: activateAtParam,
        minFractions: minFractionsParam(4),
      }),
      check: (t, cohort, p) => delayedCheck(cohort, t, p),
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const at = activation(plan, params.activateAt);
        const fields = meteredFields(cohort, plan);
        const sessions = after(plan, at);
        const excess = (i: number) => params.percent * Math.min(1, (i + 1) / params.onsetFractions);
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          perSessionMeterset(fields, sessions, (_s, i) => 1 + excess(i) / 100),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: from ${at.toISOString()}, ${sessions.map((_, i) => r2(excess(i))).join(', ')} % MU on ${fields.length} fields`,
        };
      },
    }),
  },
});
