import { isValidOffsetState, type OffsetRow, selectOffsets, type TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import { compact, updateCell } from '../change-builders';
import type { Cohort } from '../cohort';
import { defineVariant } from '../failure-mode';
import { defineMosaiqMode } from './shared';
import { futureParams, futureProblem, futureReference } from './timestamp-inconsistencies';

const DAY_MS = 86_400_000;
const AXES = { superior: 'Superior_Offset', anterior: 'Anterior_Offset', lateral: 'Lateral_Offset' } as const;
type Axis = keyof typeof AXES;

const noOffset = (t: TreatmentRecord) => (t.offset === null ? 'the treatment has no valid Offset' : null);
const magnitude = (o: OffsetRow | null) =>
  o === null ? 0 : Math.hypot(o.Superior_Offset ?? 0, o.Anterior_Offset ?? 0, o.Lateral_Offset ?? 0);

/** The session offset whose state to corrupt: the used offset when it is in the session, else the first valid one. */
function sessionOffset(t: TreatmentRecord): OffsetRow | null {
  if (t.offset && t.sessionOffsets.includes(t.offset)) return t.offset;
  return t.sessionOffsets.find((o) => isValidOffsetState(o.Offset_State)) ?? null;
}

/** The offset the treatment would use once `moved` has its Study_DtTm at `to`. */
function offsetAfterMove(t: TreatmentRecord, cohort: Cohort, moved: OffsetRow, to: Date): OffsetRow | null {
  const set = t.site?.SIT_SET_ID ?? t.field?.SIT_Set_ID ?? null;
  if (set === null) return null;
  const candidates = cohort
    .rowsWhere('Offset', 'SIT_SET_ID', set)
    .map((o) => (o === moved ? { ...o, Study_DtTm: to } : o));
  return selectOffsets(t.treatment.Create_DtTm, set, candidates).offset;
}

const intValue = (def: number, valid: readonly number[], what: string) =>
  z
    .number()
    .int()
    .min(-2_147_483_648)
    .max(2_147_483_647)
    .refine((v) => !valid.includes(v), { error: `an integer ${what} other than ${valid.join(', ')}` })
    .default(def);

export const invalidOffsetData = defineMosaiqMode({
  id: 'invalid_offset_data',
  kind: 'accidental',
  scope: 'record',
  description:
    "A treatment's set-up offset (Offset) corrupted: extreme shifts, an unknown type or state, a study time in the future. Offset rows are shared by the treatments of a session; every one affected is reported.",
  variants: {
    extreme_values: defineVariant({
      description:
        'Superior/Anterior/Lateral_Offset of the offset the treatment uses set to `valueCm` (default 12.5 cm on each axis: 21.7 cm in all, a geometric miss).',
      writes: ['Offset.Superior_Offset', 'Offset.Anterior_Offset', 'Offset.Lateral_Offset'],
      features: [
        'offset_superior',
        'offset_anterior',
        'offset_lateral',
        'offset_vector_magnitude',
        'superior_extreme',
        'anterior_extreme',
        'lateral_extreme',
        'vector_extreme',
        'offset_critical',
      ],
      params: z.strictObject({
        valueCm: z
          .number()
          .refine((v) => Math.abs(v) > 10 && Math.abs(v) <= 99_999.9, {
            error: 'an offset beyond ±10 cm (the extreme limit) and within ±99999.9 cm',
          })
          .default(12.5)
          .describe('offset written on each chosen axis (cm); the original used 999.9'),
        axes: z
          .array(z.enum(['superior', 'anterior', 'lateral']))
          .min(1)
          .refine((a) => new Set(a).size === a.length, 'distinct axes')
          .default(['superior', 'anterior', 'lateral'])
          .describe('axes to set'),
      }),
      check: noOffset,
      apply({ target, params }) {
        const o = target.offset!;
        return {
          changes: compact(params.axes.map((a: Axis) => updateCell('Offset', o, AXES[a], params.valueCm))),
          summary: `Offset ${o.OFF_ID}: ${params.axes.join(', ')} = ${params.valueCm} cm`,
        };
      },
    }),
    invalid_type: defineVariant({
      description:
        'Offset_Type of the offset the treatment uses set outside {2 localization, 3 portal, 4 third party} (default 99).',
      writes: ['Offset.Offset_Type'],
      features: ['type_valid'],
      params: z.strictObject({
        value: intValue(99, [2, 3, 4], 'Offset_Type').describe('the invalid Offset_Type'),
      }),
      check: noOffset,
      apply({ target, params }) {
        const o = target.offset!;
        return {
          changes: compact([updateCell('Offset', o, 'Offset_Type', params.value)]),
          summary: `Offset ${o.OFF_ID}: Offset_Type ${o.Offset_Type} → ${params.value}`,
        };
      },
    }),
    invalid_state: defineVariant({
      description:
        "Offset_State of an offset of the treatment's session set outside {1 active, 2 complete} (default 99); the treatment then falls back to an earlier valid offset, if any.",
      writes: ['Offset.Offset_State'],
      features: ['state_valid'],
      params: z.strictObject({
        value: intValue(99, [1, 2], 'Offset_State').describe('the invalid Offset_State'),
      }),
      check: (t) => (sessionOffset(t) === null ? 'no valid Offset in the treatment session' : null),
      apply({ target, params }) {
        const o = sessionOffset(target)!;
        return {
          changes: compact([updateCell('Offset', o, 'Offset_State', params.value)]),
          summary: `Offset ${o.OFF_ID}: Offset_State ${o.Offset_State} → ${params.value}`,
        };
      },
    }),
    future_study_time: defineVariant({
      description:
        "Study_DtTm of the offset the treatment uses moved `offsetDays` (default 365) after the reference (default: the cohort's latest timestamp). The treatment loses that offset and uses an earlier one, or none.",
      writes: ['Offset.Study_DtTm'],
      features: ['offset_vector_magnitude'],
      cohortFeatures: ['offset_age_hours'],
      params: futureParams,
      check(t, cohort, p) {
        const missing = noOffset(t);
        if (missing) return missing;
        const problem = futureProblem(cohort, p);
        if (problem) return problem;
        const to = new Date(futureReference(cohort, p.reference)!.getTime() + p.offsetDays * DAY_MS);
        if (Math.abs(magnitude(offsetAfterMove(t, cohort, t.offset!, to)) - magnitude(t.offset)) < 1e-9) {
          return 'the offset it would fall back to has the same shift (nothing a QA feature could see)';
        }
        return null;
      },
      apply({ target, cohort, params }) {
        const o = target.offset!;
        const to = new Date(
          futureReference(cohort, params.reference)!.getTime() + params.offsetDays * DAY_MS,
        );
        return {
          changes: compact([updateCell('Offset', o, 'Study_DtTm', to)]),
          summary: `Offset ${o.OFF_ID}: Study_DtTm → ${to.toISOString()}`,
        };
      },
    }),
  },
});
