import { isValidLeafCount, type TreatmentRecord, type TxFieldPointRow } from '@anomalia/mosaiq';
import { z } from 'zod';
import { compact, updateCell } from '../change-builders';
import type { Cohort } from '../cohort';
import { defineVariant } from '../failure-mode';
import { leafSetProblem, writeLeafSlot } from '../leaf-bytes';
import { type Checked, defineMosaiqMode, fieldPoints, must } from './shared';

const leafCount = z.number().int().min(1).max(100);

/** The field's points and their common MLC_Leaves. */
function uniformCount(
  cohort: Cohort,
  t: TreatmentRecord,
): Checked<{ all: readonly TxFieldPointRow[]; declared: number }> {
  const f = fieldPoints(cohort, t);
  if ('reason' in f) return f;
  if (f.all.length === 0) return { reason: 'the field has no control points' };
  const declared = f.all[0]!.MLC_Leaves;
  if (!isValidLeafCount(declared)) return { reason: `MLC_Leaves is ${declared}` };
  if (f.all.some((cp) => cp.MLC_Leaves !== declared))
    return { reason: 'the field already mixes leaf counts' };
  return { all: f.all, declared };
}

/** The other MLC of the clinic: 60 pairs (Millennium 120) for an 80-pair Agility field, else 80. */
const otherMachineCount = (declared: number) => (declared === 80 ? 60 : 80);

function intraCandidates(all: readonly TxFieldPointRow[], leaves: number, point: number | undefined) {
  const rest = all.slice(1);
  return point === undefined
    ? rest.filter((cp) => cp.MLC_Leaves !== leaves)
    : rest.filter((cp) => cp.Point === point);
}

export const mlcLeafCountMismatch = defineMosaiqMode({
  id: 'mlc_leaf_count_mismatch',
  kind: 'accidental',
  scope: 'field',
  description:
    'The number of MLC leaves (TxFieldPoint.MLC_Leaves, the used slots of the binary(200) leaf sets) is inconsistent within a field, with the machine, or with the leaf data.',
  variants: {
    intra_field: defineVariant({
      description:
        'MLC_Leaves of one control point (default: a random one after the first) set to `leaves` (default 40, an MLCi / Millennium 80 count), unlike the rest of the field; the blobs are unchanged, so leaves beyond 40 become padding.',
      writes: ['TxFieldPoint.MLC_Leaves'],
      features: ['leaf_count'],
      cohortFeatures: ['leaf_count_distinct'],
      params: z.strictObject({
        point: z
          .number()
          .int()
          .min(0)
          .max(32767)
          .optional()
          .describe('Point value to change (not the first point)'),
        leaves: leafCount.default(40).describe('MLC_Leaves written'),
      }),
      check(t, cohort, p) {
        const u = uniformCount(cohort, t);
        if ('reason' in u) return u.reason;
        if (u.all.length < 2) return 'the field has a single control point (use vs_machine)';
        if (u.declared === p.leaves) return `the field already has MLC_Leaves ${p.leaves}`;
        return intraCandidates(u.all, p.leaves, p.point).length > 0
          ? null
          : `the field has no control point with Point ${p.point} after the first`;
      },
      apply({ target, cohort, params, rng }) {
        const { all, declared } = must(uniformCount(cohort, target));
        const [cp] = rng.choice(intraCandidates(all, params.leaves, params.point), 1);
        return {
          changes: compact([updateCell('TxFieldPoint', cp!, 'MLC_Leaves', params.leaves)]),
          summary: `TxFieldPoint ${cp!.TFP_ID} (Point ${cp!.Point}) of field ${target.treatment.FLD_ID}: MLC_Leaves ${declared} → ${params.leaves}`,
        };
      },
    }),
    vs_machine: defineVariant({
      description:
        "MLC_Leaves of every control point set to a count the machine's MLC does not have (default: 60 on an 80-pair Agility field, 80 on a 60-pair Millennium field), as when a plan for another linac is attached; the blobs are unchanged.",
      writes: ['TxFieldPoint.MLC_Leaves'],
      features: ['leaf_count'],
      params: z.strictObject({
        leaves: leafCount.optional().describe("MLC_Leaves written (default: the clinic's other MLC)"),
      }),
      check(t, cohort, p) {
        const u = uniformCount(cohort, t);
        if ('reason' in u) return u.reason;
        return (p.leaves ?? otherMachineCount(u.declared)) === u.declared
          ? `MLC_Leaves is already ${u.declared}`
          : null;
      },
      apply({ target, cohort, params }) {
        const { all, declared } = must(uniformCount(cohort, target));
        const leaves = params.leaves ?? otherMachineCount(declared);
        return {
          changes: compact(all.map((cp) => updateCell('TxFieldPoint', cp, 'MLC_Leaves', leaves))),
          summary: `MLC_Leaves ${declared} → ${leaves} at all ${all.length} points of field ${target.treatment.FLD_ID}`,
        };
      },
    }),
    vs_plan: defineVariant({
      description:
        'The leaf sets hold fewer leaves than MLC_Leaves declares, as if written for a plan with `leaves` pairs (default: 20 fewer): slots from `leaves` up to MLC_Leaves are zeroed in A and B at every point, closing those pairs at 0 cm. Still 200 bytes.',
      writes: ['TxFieldPoint.A_Leaf_Set', 'TxFieldPoint.B_Leaf_Set'],
      features: ['min_gap', 'a_mean_pos', 'b_mean_pos'],
      params: z.strictObject({
        leaves: leafCount.optional().describe('leaf pairs the data covers (default: MLC_Leaves − 20)'),
      }),
      check(t, cohort, p) {
        const u = uniformCount(cohort, t);
        if ('reason' in u) return u.reason;
        const leaves = p.leaves ?? u.declared - 20;
        if (leaves < 1 || leaves >= u.declared)
          return `leaves must be in 1..${u.declared - 1} (MLC_Leaves ${u.declared})`;
        for (const cp of u.all) {
          const problem = leafSetProblem(cp, ['A', 'B']);
          if (problem) return problem;
        }
        const nonzero = u.all.some((cp) =>
          [cp.A_Leaf_Set!, cp.B_Leaf_Set!].some((b) =>
            b.subarray(2 * leaves, 2 * u.declared).some((x) => x !== 0),
          ),
        );
        return nonzero ? null : `leaves ${leaves}–${u.declared - 1} are already zero`;
      },
      apply({ target, cohort, params }) {
        const { all, declared } = must(uniformCount(cohort, target));
        const leaves = params.leaves ?? declared - 20;
        const zeroed = (blob: Uint8Array) => {
          const out = blob.slice();
          for (let i = leaves; i < declared; i++) writeLeafSlot(out, i, 0);
          return out;
        };
        const changes = all.flatMap((cp) =>
          compact([
            updateCell('TxFieldPoint', cp, 'A_Leaf_Set', zeroed(cp.A_Leaf_Set!)),
            updateCell('TxFieldPoint', cp, 'B_Leaf_Set', zeroed(cp.B_Leaf_Set!)),
          ]),
        );
        return {
          changes,
          summary: `leaves ${leaves}–${declared - 1} zeroed at ${all.length} points of field ${target.treatment.FLD_ID} (data for ${leaves} pairs, MLC_Leaves ${declared})`,
        };
      },
    }),
  },
});
