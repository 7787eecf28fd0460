import { z } from 'zod';
import { compact, updateCell } from '../change-builders';
import { defineVariant } from '../failure-mode';
import { pointSelection } from '../params';
import { defineMosaiqMode, must, pointList, reasonOf, selectedPoints } from './shared';

const angleParams = z.strictObject({
  invalidValue: z
    .number()
    .refine((x) => (x < 0 || x > 360) && Math.abs(x) <= 999.9, {
      error: 'an angle outside [0, 360] degrees (and within ±999.9, the column range), e.g. 400 or −50',
    })
    .default(400)
    .describe('the invalid angle written (degrees)'),
  points: pointSelection('all'),
});

type AngleColumn = 'Gantry_Ang' | 'Coll_Ang';

function angleVariant(columns: readonly AngleColumn[], what: string, features: readonly string[]) {
  return defineVariant({
    description: `${columns.map((c) => `TxFieldPoint.${c}`).join(' and ')} set to an angle outside [0, 360] (default 400°) at every control point of the field (${what}).`,
    writes: columns.map((c) => `TxFieldPoint.${c}`),
    features,
    params: angleParams,
    check: (t, cohort, p) => reasonOf(selectedPoints(cohort, t, p.points)),
    apply({ target, cohort, params }) {
      const { points } = must(selectedPoints(cohort, target, params.points));
      const changes = compact(
        points.flatMap((cp) => columns.map((c) => updateCell('TxFieldPoint', cp, c, params.invalidValue))),
      );
      return {
        changes,
        summary: `${columns.join(' and ')} = ${params.invalidValue}° at ${pointList(points)} of field ${target.treatment.FLD_ID}`,
      };
    },
  });
}

export const invalidAngles = defineMosaiqMode({
  id: 'invalid_angles',
  kind: 'accidental',
  scope: 'field',
  description:
    'Gantry or collimator angles outside the IEC 0–360° range (TxFieldPoint.Gantry_Ang / Coll_Ang).',
  variants: {
    gantry: angleVariant(['Gantry_Ang'], 'gantry', ['gantry_out_of_range', 'gantry_mean']),
    collimator: angleVariant(['Coll_Ang'], 'collimator', ['coll_out_of_range', 'coll_mean']),
    both: angleVariant(['Gantry_Ang', 'Coll_Ang'], 'gantry and collimator', [
      'gantry_out_of_range',
      'gantry_mean',
      'coll_out_of_range',
      'coll_mean',
    ]),
  },
});
