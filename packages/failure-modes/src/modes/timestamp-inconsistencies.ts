import { z } from 'zod';
import { compact, updateCell } from '../change-builders';
import type { Cohort } from '../cohort';
import { defineVariant } from '../failure-mode';
import { dateParam, isSqlDateTime, toDate } from '../params';
import { defineMosaiqMode } from './shared';

const DAY_MS = 86_400_000;

/** The instant "future" is measured from: the explicit reference, else the cohort's latest timestamp. */
export function futureReference(cohort: Cohort, reference: Date | string | number | undefined): Date | null {
  return reference === undefined ? cohort.latestTimestamp : toDate(reference);
}

/** Why `offsetDays` after the reference cannot be written, or null when it can. */
export function futureProblem(
  cohort: Cohort,
  params: { reference?: Date | string | number | undefined; offsetDays: number },
): string | null {
  const ref = futureReference(cohort, params.reference);
  if (ref === null) return 'the cohort has no timestamp to be in the future of';
  if (!isSqlDateTime(ref.getTime() + params.offsetDays * DAY_MS)) {
    return `${params.offsetDays} days after ${ref.toISOString()} is past 9999-12-31, beyond an SQL Server datetime`;
  }
  return null;
}

export const futureParams = z.strictObject({
  offsetDays: z.number().positive().max(36_500).default(365).describe('days after the reference'),
  reference: dateParam
    .optional()
    .describe(
      'the "now" the timestamp is in the future of (default: the latest timestamp of the cohort; extract features with asOf at or after it)',
    ),
});

export const timestampInconsistencies = defineMosaiqMode({
  id: 'timestamp_inconsistencies',
  kind: 'accidental',
  scope: 'record',
  description:
    'Impossible TrackTreatment timestamps: edited before created, in the future, or ending before they start.',
  variants: {
    edit_before_create: defineVariant({
      description:
        'TrackTreatment.Edit_DtTm moved to `hoursBefore` (default 2 h) before Create_DtTm, as the original did.',
      writes: ['TrackTreatment.Edit_DtTm'],
      features: ['edit_before_create', 'duration_seconds', 'duration_negative'],
      params: z.strictObject({
        hoursBefore: z.number().positive().max(87_600).default(2).describe('hours before Create_DtTm'),
      }),
      check: (t) => (t.treatment.Create_DtTm === null ? 'Create_DtTm is NULL' : null),
      apply({ target, params }) {
        const tt = target.treatment;
        const edit = new Date(tt.Create_DtTm!.getTime() - params.hoursBefore * 3_600_000);
        return {
          changes: compact([updateCell('TrackTreatment', tt, 'Edit_DtTm', edit)]),
          summary: `TrackTreatment ${tt.TTX_ID}: Edit_DtTm = Create_DtTm − ${params.hoursBefore} h`,
        };
      },
    }),
    future_timestamp: defineVariant({
      description:
        'TrackTreatment.Create_DtTm moved `offsetDays` (default 365) after the reference (default: the latest timestamp of the cohort, not the host clock, so the change is reproducible); Edit_DtTm keeps the original duration.',
      writes: ['TrackTreatment.Create_DtTm', 'TrackTreatment.Edit_DtTm'],
      features: ['create_in_future', 'edit_in_future'],
      params: futureParams,
      check: (_t, cohort, p) => futureProblem(cohort, p),
      apply({ target, cohort, params }) {
        const tt = target.treatment;
        const create = new Date(
          futureReference(cohort, params.reference)!.getTime() + params.offsetDays * DAY_MS,
        );
        const duration =
          tt.Create_DtTm !== null && tt.Edit_DtTm !== null
            ? tt.Edit_DtTm.getTime() - tt.Create_DtTm.getTime()
            : 0;
        return {
          changes: compact([
            updateCell('TrackTreatment', tt, 'Create_DtTm', create),
            updateCell('TrackTreatment', tt, 'Edit_DtTm', new Date(create.getTime() + duration)),
          ]),
          summary: `TrackTreatment ${tt.TTX_ID}: Create_DtTm = ${create.toISOString()} (${params.offsetDays} days after the reference)`,
        };
      },
    }),
    negative_duration: defineVariant({
      description:
        'TrackTreatment.Create_DtTm moved to `seconds` (default 60) after Edit_DtTm: a real negative beam duration of −60 s (the original set Edit = Create, a zero duration).',
      writes: ['TrackTreatment.Create_DtTm'],
      features: ['duration_negative', 'edit_before_create', 'duration_seconds'],
      params: z.strictObject({
        seconds: z
          .number()
          .positive()
          .max(86_400)
          .default(60)
          .describe('how long before its start the record ends'),
      }),
      check: (t) => (t.treatment.Edit_DtTm === null ? 'Edit_DtTm is NULL' : null),
      apply({ target, params }) {
        const tt = target.treatment;
        const create = new Date(tt.Edit_DtTm!.getTime() + params.seconds * 1000);
        return {
          changes: compact([updateCell('TrackTreatment', tt, 'Create_DtTm', create)]),
          summary: `TrackTreatment ${tt.TTX_ID}: Create_DtTm = Edit_DtTm + ${params.seconds} s (duration −${params.seconds} s)`,
        };
      },
    }),
  },
});
