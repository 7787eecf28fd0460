import type { TreatmentRecord, TxFieldPointRow } from '@anomalia/mosaiq';
import { z } from 'zod';
import type { Cohort } from '../../cohort';
import { defineVariant } from '../../failure-mode';
import { hasXJaws, jawPatch, LEAF_LIMIT } from '../../malicious/aperture';
import {
  courseOf,
  magnitudeParam,
  minFractionsParam,
  signedParam,
  startFractionParam,
} from '../../malicious/attack';
import type { FieldEdit } from '../../malicious/versions';
import { defineMosaiqMode } from '../shared';
import { applyToField } from './field-aperture-manipulation';
import { X_JAW_WRITES, Y_JAW_WRITES } from './writes';

const common = { startFraction: startFractionParam(2), minFractions: minFractionsParam(3) };
const VERSION_WRITES = ['TxField', 'TxFieldPoint', 'TrackTreatment.FLD_ID', 'Dose_Hst.FLD_ID'] as const;
const WRITES = [...VERSION_WRITES, ...Y_JAW_WRITES, ...X_JAW_WRITES];

const axisParam = z
  .enum(['Y', 'X'])
  .default('Y')
  .describe('jaw pair: Y (Coll_Y1/Y2, every head) or X (Coll_X1/X2, heads with X jaws)');
const clampJaw = (v: number) => Math.max(-LEAF_LIMIT, Math.min(LEAF_LIMIT, v));

type Jaws = { lo: number; hi: number };
const jawsOf = (cp: TxFieldPointRow, axis: 'X' | 'Y'): Jaws =>
  axis === 'Y' ? { lo: cp.Coll_Y1!, hi: cp.Coll_Y2! } : { lo: cp.Coll_X1!, hi: cp.Coll_X2! };

/** The target's field qualifies: enough fractions, jaws recorded, and the requested jaws exist. */
function jawCheck(
  cohort: Cohort,
  t: TreatmentRecord,
  p: { startFraction: number; minFractions: number },
  axis: 'X' | 'Y',
  fits?: (j: Jaws) => boolean,
  what?: string,
): string | null {
  const c = courseOf(cohort, t, p);
  if ('reason' in c) return c.reason;
  const points = cohort.pointsOfField(c.field.fractions[0]!.fieldId);
  if (points.length === 0) return 'the field has no control points';
  if (points.some((cp) => [cp.Coll_X1, cp.Coll_X2, cp.Coll_Y1, cp.Coll_Y2].includes(null)))
    return 'a control point has a NULL jaw';
  if (axis === 'X' && !hasXJaws(points))
    return 'the head has no X jaws in use (Coll_X1/X2 parked at ±20 cm, as on Agility)';
  if (fits && !points.every((cp) => fits(jawsOf(cp, axis)))) return what ?? 'the jaws cannot move that far';
  return null;
}

/** A jaw edit on one axis: new (lo, hi) from the old ones, Field_X / Field_Y kept consistent. */
function jawEdit(axis: 'X' | 'Y', move: (j: Jaws) => Jaws): FieldEdit {
  return {
    point(cp) {
      const j = move(jawsOf(cp, axis));
      return jawPatch(
        axis === 'Y'
          ? { y1: clampJaw(j.lo), y2: clampJaw(j.hi) }
          : { x1: clampJaw(j.lo), x2: clampJaw(j.hi) },
        cp,
      );
    },
  };
}

export const collimatorJawManipulation = defineMosaiqMode({
  id: 'collimator_jaw_manipulation',
  kind: 'malicious',
  scope: 'field',
  description:
    'Collimator jaw positions of one field changed from `startFraction` (default 2): a TxField version whose control points carry moved Coll_Y1/Y2 (or Coll_X1/X2 on heads with X jaws), Field_Y / Field_X kept equal to the jaw opening as the application derives them, so the record stays self-consistent; the MLC is untouched.',
  variants: {
    jaw_asymmetry: defineVariant({
      description:
        'Both jaws of the axis moved the same way by `shiftMm` (default 4 mm): the field keeps its size but sits off-centre, part of the target under-dosed.',
      evidence:
        'Jaw centre (Coll_Y1 + Coll_Y2)/2 of the delivered version against the approved one: a constant offset while the opening is unchanged; the jaw-centre series steps at startFraction; portal image field edges.',
      writes: WRITES,
      features: [],
      cohortFeatures: ['jaw_y_center_mean'],
      params: z.strictObject({
        shiftMm: signedParam(4, 1, 50, 'shift of both jaws (mm; + toward Y2 / X2)'),
        axis: axisParam,
        ...common,
      }),
      check: (t, cohort, p) => jawCheck(cohort, t, p, p.axis),
      apply(ctx) {
        const d = ctx.params.shiftMm / 10;
        return applyToField(
          ctx,
          jawEdit(ctx.params.axis, (j) => ({ lo: j.lo + d, hi: j.hi + d })),
          () => `${ctx.params.axis} jaws shifted ${ctx.params.shiftMm} mm`,
        );
      },
    }),
    field_size_reduction: defineVariant({
      description:
        'Both jaws of the axis closed by `mm` (default 5 mm each): the field is 1 cm shorter and the target’s ends fall outside it.',
      evidence:
        'Jaw opening (Field_Y = Coll_Y2 − Coll_Y1) of the delivered version against the approved one, smaller by 2 × mm; the jaws now cut into the MLC aperture (open leaf pairs outside the jaws); portal image field size.',
      writes: WRITES,
      features: [],
      cohortFeatures: ['field_y_mean'],
      params: z.strictObject({
        mm: magnitudeParam(5, 1, 50, 'how far each jaw closes (mm)'),
        axis: axisParam,
        ...common,
      }),
      check: (t, cohort, p) =>
        jawCheck(
          cohort,
          t,
          p,
          p.axis,
          (j) => j.hi - j.lo > (2 * p.mm) / 10 + 1,
          `a field narrower than ${(2 * p.mm) / 10 + 1} cm cannot lose ${p.mm} mm on each side`,
        ),
      apply(ctx) {
        const m = ctx.params.mm / 10;
        return applyToField(
          ctx,
          jawEdit(ctx.params.axis, (j) => ({ lo: j.lo + m, hi: j.hi - m })),
          () => `${ctx.params.axis} jaws closed ${ctx.params.mm} mm each`,
        );
      },
    }),
    field_size_expansion: defineVariant({
      description:
        'Both jaws of the axis opened by `mm` (default 10 mm each, within ±20 cm): healthy tissue beyond the target receives transmission and leakage through the uncovered closed leaf pairs; the target is still covered.',
      evidence:
        'Jaw opening of the delivered version against the approved one, larger by 2 × mm; closed leaf pairs now inside the jaws; integral dose outside the target on portal images.',
      writes: WRITES,
      features: [],
      cohortFeatures: ['field_y_mean'],
      params: z.strictObject({
        mm: magnitudeParam(10, 1, 100, 'how far each jaw opens (mm)'),
        axis: axisParam,
        ...common,
      }),
      check: (t, cohort, p) =>
        jawCheck(
          cohort,
          t,
          p,
          p.axis,
          (j) => j.lo > -LEAF_LIMIT || j.hi < LEAF_LIMIT,
          'the jaws are already fully open',
        ),
      apply(ctx) {
        const m = ctx.params.mm / 10;
        return applyToField(
          ctx,
          jawEdit(ctx.params.axis, (j) => ({ lo: j.lo - m, hi: j.hi + m })),
          () => `${ctx.params.axis} jaws opened ${ctx.params.mm} mm each`,
        );
      },
    }),
    gradient_shift: defineVariant({
      description:
        'One jaw (`jaw`, default Y2) moved by `mm` (default 2 mm; + opens, − closes): the dose gradient at that edge moves, a small dosimetric effect visible on portal images.',
      evidence:
        'One jaw of the delivered version off the approved one by mm while its partner is unchanged (jaw-by-jaw comparison with the plan); portal image penumbra position at that edge.',
      writes: WRITES,
      features: [],
      cohortFeatures: ['field_y_mean', 'jaw_y_center_mean'],
      params: z.strictObject({
        mm: signedParam(2, 0.5, 50, 'jaw movement (mm; + opens the field, − closes it)'),
        jaw: z.enum(['Y1', 'Y2', 'X1', 'X2']).default('Y2').describe('the jaw moved'),
        ...common,
      }),
      check: (t, cohort, p) => {
        const axis = p.jaw[0] as 'X' | 'Y';
        const d = p.mm / 10;
        return jawCheck(
          cohort,
          t,
          p,
          axis,
          (j) => {
            const first = p.jaw.endsWith('1');
            const lo = first ? clampJaw(j.lo - d) : j.lo;
            const hi = first ? j.hi : clampJaw(j.hi + d);
            const moved = first ? lo !== j.lo : hi !== j.hi;
            return moved && hi - lo >= 1;
          },
          `jaw ${p.jaw} cannot move ${p.mm} mm (the field would close or the jaw is at its limit)`,
        );
      },
      apply(ctx) {
        const axis = ctx.params.jaw[0] as 'X' | 'Y';
        const d = ctx.params.mm / 10;
        const first = ctx.params.jaw.endsWith('1');
        return applyToField(
          ctx,
          jawEdit(axis, (j) => (first ? { lo: j.lo - d, hi: j.hi } : { lo: j.lo, hi: j.hi + d })),
          () => `jaw ${ctx.params.jaw} moved ${ctx.params.mm} mm`,
        );
      },
    }),
  },
});
