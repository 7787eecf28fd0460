import { z } from 'zod';
import { compact, updateCell } from '../change-builders';
import { defineVariant } from '../failure-mode';
import { defineMosaiqMode, fieldPoints, must } from './shared';

/** Limits of the QA features: Meterset > 1000 MU is extreme, a control-point sum off by > 5 % mismatches. */
const EXTREME_MU = 1000;
const CP_TOLERANCE = 0.05;

export const metersetInconsistency = defineMosaiqMode({
  id: 'meterset_inconsistency',
  kind: 'accidental',
  scope: 'field',
  description:
    'The planned meterset (TxField.Meterset) is negative or extreme, or the control points no longer account for it.',
  variants: {
    negative_meterset: defineVariant({
      description:
        'TxField.Meterset set to a negative value: by default the planned MU with its sign flipped (the original always wrote −100 and ignored its `value`).',
      writes: ['TxField.Meterset'],
      features: ['mu_negative', 'mu_planned'],
      params: z.strictObject({
        value: z
          .number()
          .negative()
          .min(-1e9)
          .optional()
          .describe('the meterset written (MU); default −Meterset'),
      }),
      check(t, _c, p) {
        const mu = t.field?.Meterset ?? null;
        if (t.field === null) return 'the treatment has no TxField row';
        if (p.value === undefined && (mu === null || mu <= 0))
          return `Meterset is ${mu}; give a negative \`value\``;
        return null;
      },
      apply({ target, params }) {
        const f = target.field!;
        const value = params.value ?? -f.Meterset!;
        return {
          changes: compact([updateCell('TxField', f, 'Meterset', value)]),
          summary: `TxField ${f.FLD_ID}: Meterset ${f.Meterset} → ${value} MU`,
        };
      },
    }),
    extreme_value: defineVariant({
      description:
        'TxField.Meterset set to an extreme value above 1000 MU (default 9999 MU) on a field planned at or below 1000 MU.',
      writes: ['TxField.Meterset'],
      features: ['mu_extreme_high', 'mu_planned'],
      params: z.strictObject({
        value: z
          .number()
          .gt(EXTREME_MU, { error: `a meterset above ${EXTREME_MU} MU (the extreme limit)` })
          .max(1e9)
          .default(9999)
          .describe('the meterset written (MU); the original used 999999'),
      }),
      check(t) {
        const mu = t.field?.Meterset ?? null;
        if (t.field === null) return 'the treatment has no TxField row';
        if (mu === null) return 'Meterset is NULL';
        return mu > EXTREME_MU ? `Meterset is already ${mu} MU (> ${EXTREME_MU})` : null;
      },
      apply({ target, params }) {
        const f = target.field!;
        return {
          changes: compact([updateCell('TxField', f, 'Meterset', params.value)]),
          summary: `TxField ${f.FLD_ID}: Meterset ${f.Meterset} → ${params.value} MU`,
        };
      },
    }),
    mismatch_with_cp: defineVariant({
      description:
        'The cumulative meterset weights (TxFieldPoint.[Index]) of every control point scaled by `indexScale` (default 0.9), so the points account for 90 % of TxField.Meterset. (The original set Meterset = 1.0, which changes the plan, not its consistency: the control-point weights are relative.)',
      writes: ['TxFieldPoint.Index'],
      features: ['mu_cp_sum', 'mu_cp_difference', 'mu_cp_percent_diff', 'mu_cp_mismatch'],
      params: z.strictObject({
        indexScale: z
          .number()
          .positive()
          .max(10)
          .refine((s) => Math.abs(1 - s) > CP_TOLERANCE, {
            error: `a factor more than ${CP_TOLERANCE * 100} % away from 1 (the control-point tolerance)`,
          })
          .default(0.9)
          .describe('factor applied to every [Index]'),
      }),
      check(t, cohort) {
        if (t.field === null) return 'the treatment has no TxField row';
        if (!t.field.Meterset) return `Meterset is ${t.field.Meterset}`;
        const f = fieldPoints(cohort, t);
        if ('reason' in f) return f.reason;
        const indexed = f.all.filter((cp) => cp.Index !== null);
        if (indexed.length < 2)
          return 'fewer than 2 control points with an [Index] (a single point carries the whole Meterset)';
        return indexed.some((cp) => cp.Index !== 0) ? null : 'every [Index] is 0';
      },
      apply({ target, cohort, params }) {
        const { all } = must(fieldPoints(cohort, target));
        // [Index] is decimal(9,3).
        const changes = compact(
          all.map((cp) =>
            cp.Index === null
              ? null
              : updateCell(
                  'TxFieldPoint',
                  cp,
                  'Index',
                  Math.round(cp.Index * params.indexScale * 1000) / 1000,
                ),
          ),
        );
        return {
          changes,
          summary: `[Index] of ${changes.length} control points of field ${target.treatment.FLD_ID} scaled by ${params.indexScale}`,
        };
      },
    }),
  },
});
