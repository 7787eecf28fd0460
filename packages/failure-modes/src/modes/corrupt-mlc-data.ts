import { readLeafSlot, type TreatmentRecord, type TxFieldPointRow } from '@anomalia/mosaiq';
import { z } from 'zod';
import { compact, updateCell } from '../change-builders';
import type { Cohort } from '../cohort';
import { defineVariant } from '../failure-mode';
import {
  type Bank,
  bankColumn,
  insertStrayByte,
  leafSetProblem,
  toUnits,
  writeLeafSlot,
} from '../leaf-bytes';
import { type PointSelection, pointSelection } from '../params';
import { type Checked, defineMosaiqMode, must, pointList, reasonOf, selectedPoints } from './shared';

const bank = z.enum(['A', 'B']).default('A').describe('leaf bank: A (negative-side edge) or B');
const leaf = z
  .number()
  .int()
  .min(0)
  .max(99)
  .optional()
  .describe('0-based leaf (slot) to corrupt; default: a random used leaf');

/** Checks the selected points' blobs; returns the points or a reason. */
function editablePoints(
  cohort: Cohort,
  target: TreatmentRecord,
  selection: PointSelection,
  banks: readonly Bank[],
  leafIndex?: number,
): Checked<{ points: TxFieldPointRow[] }> {
  const selected = selectedPoints(cohort, target, selection);
  if ('reason' in selected) return selected;
  for (const cp of selected.points) {
    const problem = leafSetProblem(cp, banks);
    if (problem) return { reason: problem };
    if (leafIndex !== undefined && leafIndex >= cp.MLC_Leaves!) {
      return {
        reason: `leaf ${leafIndex} is not a used leaf at Point ${cp.Point} (MLC_Leaves ${cp.MLC_Leaves})`,
      };
    }
  }
  return selected;
}

const minUsed = (points: readonly TxFieldPointRow[]) => Math.min(...points.map((cp) => cp.MLC_Leaves!));

const oddBytesParams = z.strictObject({
  points: pointSelection('first'),
  bank,
  leaf,
  byte: z.number().int().min(0).max(255).default(0).describe('value of the stray byte'),
});

const outOfRangeParams = z.strictObject({
  points: pointSelection('first'),
  bank,
  leaf,
  positionCm: z
    .number()
    .refine((x) => Math.abs(x) > 20 && Math.abs(x) <= 327.67, {
      error: 'a position beyond the ±20 cm leaf travel and within the int16 range (±327.67 cm)',
    })
    .optional()
    .describe('position written (cm); default −100 for bank A, +100 for bank B (opening the pair)'),
});

const negativeGapParams = z.strictObject({
  points: pointSelection('first'),
  pairs: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(3)
    .describe('open leaf pairs (B > A) to swap at each point'),
});

const randomBytesParams = z.strictObject({
  points: pointSelection('all'),
  bank: z.enum(['A', 'B', 'both']).default('A').describe('bank(s) to fill with random bytes'),
});

export const corruptMlcData = defineMosaiqMode({
  id: 'corrupt_mlc_data',
  kind: 'accidental',
  scope: 'field',
  description:
    'Corrupted MLC leaf sets (TxFieldPoint.A_Leaf_Set / B_Leaf_Set, binary(200)): misaligned bytes, a leaf beyond its travel, crossed leaf pairs, random bytes.',
  variants: {
    odd_bytes: defineVariant({
      description:
        'binary(200) cannot hold an odd length, so the odd byte shows as what a parse slip leaves behind: a stray byte (default 0x00) inserted before a random used leaf of A_Leaf_Set (default: first control point) shifts the rest one byte right and the last byte falls off the 200, so every leaf from there straddles two int16 slots.',
      writes: ['TxFieldPoint.A_Leaf_Set', 'TxFieldPoint.B_Leaf_Set'],
      features: ['a_mean_pos', 'a_std_pos'],
      params: oddBytesParams,
      check: (t, cohort, p) => reasonOf(editablePoints(cohort, t, p.points, [p.bank], p.leaf)),
      apply({ target, cohort, params, rng }) {
        const { points } = must(editablePoints(cohort, target, params.points, [params.bank]));
        const slot = params.leaf ?? rng.integer(0, minUsed(points));
        const column = bankColumn(params.bank);
        const changes = compact(
          points.map((cp) =>
            updateCell('TxFieldPoint', cp, column, insertStrayByte(cp[column]!, slot, params.byte)),
          ),
        );
        return {
          changes,
          summary: `${column} of ${pointList(points)} of field ${target.treatment.FLD_ID}: stray byte 0x${params.byte.toString(16).padStart(2, '0')} before leaf ${slot}, rest shifted one byte (still 200 bytes)`,
        };
      },
    }),
    out_of_range: defineVariant({
      description:
        'One random used leaf of A_Leaf_Set (default: first control point) set to −100 cm (B: +100 cm), far beyond the ±20 cm travel, inside the full 200-byte blob; the pair opens instead of crossing.',
      writes: ['TxFieldPoint.A_Leaf_Set', 'TxFieldPoint.B_Leaf_Set'],
      features: ['a_out_of_range', 'a_min_pos', 'a_mean_pos', 'max_gap'],
      params: outOfRangeParams,
      check: (t, cohort, p) => reasonOf(editablePoints(cohort, t, p.points, [p.bank], p.leaf)),
      apply({ target, cohort, params, rng }) {
        const { points } = must(editablePoints(cohort, target, params.points, [params.bank]));
        const slot = params.leaf ?? rng.integer(0, minUsed(points));
        const cm = params.positionCm ?? (params.bank === 'A' ? -100 : 100);
        const column = bankColumn(params.bank);
        const changes = compact(
          points.map((cp) => {
            const blob = cp[column]!.slice();
            writeLeafSlot(blob, slot, toUnits(cm));
            return updateCell('TxFieldPoint', cp, column, blob);
          }),
        );
        return {
          changes,
          summary: `${column} of ${pointList(points)} of field ${target.treatment.FLD_ID}: leaf ${slot} at ${cm} cm`,
        };
      },
    }),
    negative_gap: defineVariant({
      description:
        'A and B swapped for 3 random open leaf pairs (B > A) of the first control point, so those pairs cross (B − A < 0): a physically impossible aperture. Both blobs stay 200 bytes. (Advertised but not implemented by the original.)',
      writes: ['TxFieldPoint.A_Leaf_Set', 'TxFieldPoint.B_Leaf_Set'],
      features: ['negative_gap_count', 'min_gap'],
      params: negativeGapParams,
      check(t, cohort, p) {
        const r = editablePoints(cohort, t, p.points, ['A', 'B']);
        if ('reason' in r) return r.reason;
        for (const cp of r.points) {
          const open = openPairs(cp).length;
          if (open < p.pairs) return `Point ${cp.Point} has ${open} open leaf pairs, fewer than ${p.pairs}`;
        }
        return null;
      },
      apply({ target, cohort, params, rng }) {
        const { points } = must(editablePoints(cohort, target, params.points, ['A', 'B']));
        const changes = points.flatMap((cp) => {
          const chosen = rng.choice(openPairs(cp), params.pairs);
          const a = cp.A_Leaf_Set!.slice();
          const b = cp.B_Leaf_Set!.slice();
          for (const i of chosen) {
            writeLeafSlot(a, i, readLeafSlot(cp.B_Leaf_Set!, i));
            writeLeafSlot(b, i, readLeafSlot(cp.A_Leaf_Set!, i));
          }
          return compact([
            updateCell('TxFieldPoint', cp, 'A_Leaf_Set', a),
            updateCell('TxFieldPoint', cp, 'B_Leaf_Set', b),
          ]);
        });
        return {
          changes,
          summary: `${pointList(points)} of field ${target.treatment.FLD_ID}: ${params.pairs} open leaf pair(s) per point swapped (B < A)`,
        };
      },
    }),
    random_bytes: defineVariant({
      description:
        'The used slots (2 × MLC_Leaves bytes) of A_Leaf_Set filled with random bytes at every control point; the zero padding and the 200-byte length are kept (the original wrote a 20-byte blob).',
      writes: ['TxFieldPoint.A_Leaf_Set', 'TxFieldPoint.B_Leaf_Set'],
      features: ['a_mean_pos', 'a_std_pos', 'a_min_pos', 'a_max_pos', 'a_out_of_range'],
      params: randomBytesParams,
      check: (t, cohort, p) =>
        reasonOf(editablePoints(cohort, t, p.points, p.bank === 'both' ? ['A', 'B'] : [p.bank])),
      apply({ target, cohort, params, rng }) {
        const banks: Bank[] = params.bank === 'both' ? ['A', 'B'] : [params.bank];
        const { points } = must(editablePoints(cohort, target, params.points, banks));
        const changes = points.flatMap((cp) =>
          compact(
            banks.map((b) => {
              const column = bankColumn(b);
              const blob = cp[column]!.slice();
              for (let i = 0; i < 2 * cp.MLC_Leaves!; i++) blob[i] = rng.integer(0, 256);
              return updateCell('TxFieldPoint', cp, column, blob);
            }),
          ),
        );
        return {
          changes,
          summary: `${banks.map(bankColumn).join(' and ')} of ${pointList(points)} of field ${target.treatment.FLD_ID}: used slots filled with random bytes`,
        };
      },
    }),
  },
});

/** Used leaf pairs with B > A (open), by index. */
function openPairs(cp: TxFieldPointRow): number[] {
  const out: number[] = [];
  for (let i = 0; i < cp.MLC_Leaves!; i++) {
    if (readLeafSlot(cp.B_Leaf_Set!, i) > readLeafSlot(cp.A_Leaf_Set!, i)) out.push(i);
  }
  return out;
}
