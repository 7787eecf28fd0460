import type { TreatmentRecord, TxFieldRow } from '@anomalia/mosaiq';
import { z } from 'zod';
import { insertRow } from '../change-builders';
import type { Cohort } from '../cohort';
import { defineVariant, type VariantContext } from '../failure-mode';
import { defineMosaiqMode } from './shared';

/** Records of the same patient this close to the duplicate count as its context (cohort features look ±5 min). */
const CONTEXT_WINDOW_MS = 10 * 60_000;

const timeOffset = z
  .number()
  .int()
  .min(-3600)
  .max(3600)
  .refine((s) => s !== 0, 'a non-zero number of seconds')
  .default(5)
  .describe("seconds between the original and the duplicate (the original tool's time_offset_seconds)");

function deliveryProblem(t: TreatmentRecord): string | null {
  const tt = t.treatment;
  if (tt.WasBeamComplete !== true || tt.WasQAMode === true) {
    return 'not a completed clinical delivery (duplicates of cancelled selections or QA beams are normal Mosaiq noise)';
  }
  if (tt.Create_DtTm === null || tt.Edit_DtTm === null) return 'a timestamp is NULL';
  if (tt.Pat_ID1 === null || t.patient === null) return 'no patient';
  if (t.doseHistory === null) return 'no Dose_Hst row to share';
  return null;
}

/** The patient's other fields, those of the same site set first. */
function otherFields(t: TreatmentRecord, cohort: Cohort): TxFieldRow[] {
  const fields = cohort.fieldsOfPatient(t.treatment.Pat_ID1!).filter((f) => f.FLD_ID !== t.treatment.FLD_ID);
  const set = t.field?.SIT_Set_ID ?? null;
  const same = fields.filter((f) => set !== null && f.SIT_Set_ID === set);
  return same.length > 0 ? same : fields;
}

function duplicate(ctx: VariantContext<{ timeOffsetSeconds: number }>, fieldId: number | null) {
  const { target, cohort, params, keys } = ctx;
  const tt = target.treatment;
  const id = keys.allocate('TrackTreatment');
  const shift = params.timeOffsetSeconds * 1000;
  const row = {
    ...tt,
    TTX_ID: id,
    Create_DtTm: new Date(tt.Create_DtTm!.getTime() + shift),
    Edit_DtTm: new Date(tt.Edit_DtTm!.getTime() + shift),
    FLD_ID: fieldId ?? tt.FLD_ID,
  };
  const t0 = tt.Create_DtTm!.getTime();
  const context = cohort
    .treatmentsOf('Pat_ID1', tt.Pat_ID1!)
    .filter((o) => o.Create_DtTm !== null && Math.abs(o.Create_DtTm.getTime() - t0) <= CONTEXT_WINDOW_MS)
    .map((o) => o.TTX_ID);
  return {
    changes: [insertRow('TrackTreatment', row)],
    primaryTtxId: id,
    contextTtxIds: [tt.TTX_ID, ...context],
    summary: `TrackTreatment ${id} inserted: copy of ${tt.TTX_ID} ${params.timeOffsetSeconds} s later${fieldId === null ? '' : ` on field ${fieldId} instead of ${tt.FLD_ID}`}`,
  };
}

export const duplicateTreatments = defineMosaiqMode({
  id: 'duplicate_treatments',
  kind: 'accidental',
  scope: 'record',
  description:
    'A delivery recorded twice: a new TrackTreatment row (a fresh TTX_ID from the key allocator) copying a completed delivery seconds later, on the same field or on another field of the same patient.',
  variants: {
    same_field: defineVariant({
      description:
        'Inserts a copy of the TrackTreatment row (every column, DHS_ID included: both rows name one Dose_Hst row) `timeOffsetSeconds` (default 5 s) later. The original only returned an SQL template.',
      writes: ['TrackTreatment'],
      features: ['dose_time_delta'],
      cohortFeatures: ['same_field_repeats_5min'],
      params: z.strictObject({ timeOffsetSeconds: timeOffset }),
      check: deliveryProblem,
      apply: (ctx) => duplicate(ctx, null),
    }),
    different_field: defineVariant({
      description:
        "Like same_field, but the copy names another field of the same patient (same site set preferred). The original used FLD_ID + 1, which may be another patient's field or no field at all.",
      writes: ['TrackTreatment'],
      features: ['dose_time_delta'],
      cohortFeatures: ['other_field_within_10s'],
      params: z.strictObject({
        timeOffsetSeconds: timeOffset,
        otherFieldId: z
          .number()
          .int()
          .optional()
          .describe('the conflicting field (default: a random other field of the patient)'),
      }),
      check(t, cohort, p) {
        const problem = deliveryProblem(t);
        if (problem) return problem;
        const others = otherFields(t, cohort);
        if (others.length === 0) return 'the patient has no other field';
        if (
          p.otherFieldId !== undefined &&
          !cohort
            .fieldsOfPatient(t.treatment.Pat_ID1!)
            .some((f) => f.FLD_ID === p.otherFieldId && f.FLD_ID !== t.treatment.FLD_ID)
        ) {
          return `field ${p.otherFieldId} is not another field of patient ${t.treatment.Pat_ID1}`;
        }
        return null;
      },
      apply(ctx) {
        const fieldId =
          ctx.params.otherFieldId ?? ctx.rng.choice(otherFields(ctx.target, ctx.cohort), 1)[0]!.FLD_ID;
        return duplicate(ctx, fieldId);
      },
    }),
  },
});
