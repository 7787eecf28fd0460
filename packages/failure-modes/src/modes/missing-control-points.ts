import type { TxFieldPointRow } from '@anomalia/mosaiq';
import { z } from 'zod';
import { deleteRow } from '../change-builders';
import { defineVariant, noParams } from '../failure-mode';
import { type Checked, defineMosaiqMode, fieldPoints, must } from './shared';

const pointValue = z.number().int().min(0).max(32767);

/**
 * Interior control points (neither the first nor the last in Point order) to delete, no two
 * adjacent, so that each deletion leaves its own gap in the Point sequence.
 */
function interiorPoints(
  all: readonly TxFieldPointRow[],
  explicit: readonly number[] | undefined,
  count: number,
): Checked<{ positions: number[] | null }> {
  const n = all.length;
  if (explicit) {
    const positions = explicit.map((p) => all.findIndex((cp) => cp.Point === p));
    for (let k = 0; k < explicit.length; k++) {
      const at = positions[k]!;
      if (at < 0) return { reason: `the field has no control point with Point ${explicit[k]}` };
      if (at === 0 || at === n - 1) {
        return {
          reason: `Point ${explicit[k]} is the first or last control point (a gap needs points on both sides)`,
        };
      }
    }
    const sorted = [...positions].sort((a, b) => a - b);
    for (let k = 1; k < sorted.length; k++) {
      if (sorted[k]! - sorted[k - 1]! < 2) return { reason: 'adjacent points would merge into one gap' };
    }
    return { positions: sorted };
  }
  // `count` non-adjacent positions among the n − 2 interior ones need n − 2 ≥ 2·count − 1.
  if (n - 2 < 2 * count - 1) {
    return {
      reason: `the field has ${n} control points; ${count} separate gap(s) need at least ${2 * count + 1}`,
    };
  }
  return { positions: null };
}

/** `count` random non-adjacent interior positions of n points, ascending. */
function drawInterior(
  n: number,
  count: number,
  rng: { sampleIndices(n: number, k: number): Int32Array },
): number[] {
  const slots = Array.from(rng.sampleIndices(n - 2 - count + 1, count)).sort((a, b) => a - b);
  return slots.map((s, k) => 1 + s + k);
}

export const missingControlPoints = defineMosaiqMode({
  id: 'missing_control_points',
  kind: 'accidental',
  scope: 'field',
  description:
    'TxFieldPoint rows of a field deleted: gaps in the Point sequence, or no control points at all.',
  variants: {
    single_gap: defineVariant({
      description:
        'One interior TxFieldPoint row deleted (default: a random one): one gap in the Point sequence.',
      writes: ['TxFieldPoint'],
      features: ['cp_count', 'cp_sequential', 'cp_max_gap', 'cp_gap_count'],
      params: z.strictObject({
        point: pointValue.optional().describe('Point value to delete (default: a random interior point)'),
      }),
      check(t, cohort, p) {
        const f = fieldPoints(cohort, t);
        if ('reason' in f) return f.reason;
        const r = interiorPoints(f.all, p.point === undefined ? undefined : [p.point], 1);
        return 'reason' in r ? r.reason : null;
      },
      apply({ target, cohort, params, rng }) {
        const { all } = must(fieldPoints(cohort, target));
        const { positions } = must(
          interiorPoints(all, params.point === undefined ? undefined : [params.point], 1),
        );
        const at = positions?.[0] ?? drawInterior(all.length, 1, rng)[0]!;
        const cp = all[at]!;
        return {
          changes: [deleteRow('TxFieldPoint', cp)],
          summary: `TxFieldPoint ${cp.TFP_ID} (Point ${cp.Point} of ${all.length}) of field ${target.treatment.FLD_ID} deleted`,
        };
      },
    }),
    multiple_gaps: defineVariant({
      description:
        'Several non-adjacent interior TxFieldPoint rows deleted (default: 2 random ones): as many separate gaps.',
      writes: ['TxFieldPoint'],
      features: ['cp_count', 'cp_sequential', 'cp_max_gap', 'cp_gap_count'],
      params: z.strictObject({
        points: z
          .array(pointValue)
          .min(2)
          .refine((a) => new Set(a).size === a.length, 'distinct Point values')
          .optional()
          .describe('Point values to delete (default: `count` random non-adjacent interior points)'),
        count: z
          .number()
          .int()
          .min(2)
          .max(1000)
          .default(2)
          .describe('gaps to make when `points` is not given'),
      }),
      check(t, cohort, p) {
        const f = fieldPoints(cohort, t);
        if ('reason' in f) return f.reason;
        const r = interiorPoints(f.all, p.points, p.count);
        return 'reason' in r ? r.reason : null;
      },
      apply({ target, cohort, params, rng }) {
        const { all } = must(fieldPoints(cohort, target));
        const { positions } = must(interiorPoints(all, params.points, params.count));
        const chosen = (positions ?? drawInterior(all.length, params.count, rng)).map((i) => all[i]!);
        return {
          changes: chosen.map((cp) => deleteRow('TxFieldPoint', cp)),
          summary: `Points ${chosen.map((cp) => cp.Point).join(', ')} of ${all.length} deleted from field ${target.treatment.FLD_ID}`,
        };
      },
    }),
    all_deleted: defineVariant({
      description: 'Every TxFieldPoint row of the field deleted (the TxField row stays).',
      writes: ['TxFieldPoint'],
      features: ['cp_count', 'cp_minimum_met', 'mu_cp_sum'],
      params: noParams,
      check(t, cohort) {
        const f = fieldPoints(cohort, t);
        if ('reason' in f) return f.reason;
        return f.all.length === 0 ? 'the field has no control points left to delete' : null;
      },
      apply({ target, cohort }) {
        const { all } = must(fieldPoints(cohort, target));
        return {
          changes: all.map((cp) => deleteRow('TxFieldPoint', cp)),
          summary: `all ${all.length} control points of field ${target.treatment.FLD_ID} deleted`,
        };
      },
    }),
  },
});
