import type { TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import type { Cohort } from '../../cohort';
import { defineVariant, type VariantContext } from '../../failure-mode';
import {
  apertureArea,
  apertureCentroidX,
  apertureProblem,
  jawPatch,
  LEAF_LIMIT,
  moveLeaves,
  openPairs,
  type PointGeometry,
  pointGeometry,
} from '../../malicious/aperture';
import {
  courseOf,
  deliver,
  magnitudeParam,
  minFractionsParam,
  primaryOf,
  r2,
  signedParam,
  startFractionParam,
} from '../../malicious/attack';
import type { FieldEdit } from '../../malicious/versions';
import { defineMosaiqMode, must } from '../shared';
import { APERTURE_VERSION_WRITES, geometryEdit, X_JAW_WRITES } from './writes';

const common = { startFraction: startFractionParam(2), minFractions: minFractionsParam(3) };

/** The target's field course qualifies and its control points can be edited leaf by leaf. */
export function shapedFieldCheck(
  cohort: Cohort,
  t: TreatmentRecord,
  p: { startFraction: number; minFractions: number },
): string | null {
  const c = courseOf(cohort, t, p);
  if ('reason' in c) return c.reason;
  const problem = apertureProblem(cohort.pointsOfField(c.field.fractions[0]!.fieldId));
  return problem === null ? null : `field ${t.treatment.FLD_ID}: ${problem}`;
}

/** Applies one version of the target's field from `startFraction` on. */
export function applyToField(
  ctx: VariantContext<{ startFraction: number; minFractions: number }>,
  edit: FieldEdit,
  what: (before: PointGeometry, after: PointGeometry) => string,
) {
  const { target, cohort, params, rng, keys } = ctx;
  const c = must(courseOf(cohort, target, params));
  const fractions = c.field.fractions.filter((f) => f.number >= params.startFraction);
  const writer = deliver({ cohort, keys, rng }, c.plan, [{ fractions, edit }]);
  const cp = cohort.pointsOfField(fractions[0]!.fieldId)[0]!;
  const before = pointGeometry(cp) as PointGeometry;
  const inserted = writer.changes.find((x) => x.kind === 'insert' && x.table === 'TxFieldPoint');
  const after =
    inserted && inserted.kind === 'insert'
      ? (pointGeometry(inserted.row as typeof cp) as PointGeometry)
      : before;
  return {
    changes: writer.changes,
    primaryTtxId: primaryOf(writer.repointed, target, cohort),
    summary: `field ${target.treatment.FLD_ID}: fractions ${params.startFraction}–${c.field.fractions.length} ${what(before, after)} (first control point: area ${r2(apertureArea(before))} → ${r2(apertureArea(after))} cm², centroid ${r2(apertureCentroidX(before))} → ${r2(apertureCentroidX(after))} cm)`,
  };
}

export const fieldApertureManipulation = defineMosaiqMode({
  id: 'field_aperture_manipulation',
  kind: 'malicious',
  scope: 'field',
  description:
    'The MLC aperture of one field changed from `startFraction` (default 2): a TxField version whose control points carry moved leaves (A_Leaf_Set / B_Leaf_Set re-encoded with the mosaiq MLC codec, still binary(200)) delivers the attacked fractions; the approved version stays current.',
  variants: {
    systematic_shift: defineVariant({
      description:
        'Every open leaf pair shifted by `shiftMm` (default 2 mm, a 1–3 mm systematic error) along the leaf-travel direction at every control point, with the X jaws when the head has them: the whole aperture moves off the target.',
      evidence:
        'Aperture centroid (mean leaf-pair centre) of the delivered version against the approved one: a constant offset of shiftMm at every control point; the centroid series of the course steps at startFraction (Welch t before/after); portal image gamma at 3 %/3 mm.',
      writes: [...APERTURE_VERSION_WRITES, ...X_JAW_WRITES],
      features: ['a_mean_pos', 'b_mean_pos', 'a_min_pos', 'b_max_pos'],
      params: z.strictObject({
        shiftMm: signedParam(
          2,
          0.5,
          20,
          'shift of every open leaf (mm); the sign gives the direction (+ toward bank B)',
        ),
        ...common,
      }),
      check: (t, cohort, p) => shapedFieldCheck(cohort, t, p),
      apply(ctx) {
        const d = ctx.params.shiftMm / 10;
        const edit = geometryEdit((g, cp) => {
          const patch = moveLeaves(
            g,
            openPairs(g),
            (_i, a) => a + d,
            (_i, b) => b + d,
          );
          const xJaws = g.x1 > -LEAF_LIMIT || g.x2 < LEAF_LIMIT;
          return xJaws ? { ...patch, ...jawPatch({ x1: g.x1 + d, x2: g.x2 + d }, cp) } : patch;
        });
        return applyToField(ctx, edit, () => `shifted ${ctx.params.shiftMm} mm`);
      },
    }),
    margin_erosion: defineVariant({
      description:
        'Every open leaf pair closed by `erosionMm` (default 3 mm) on each side at every control point (never below a 3 mm gap): the margin around the target is lost and its edge under-dosed; the jaws stay.',
      evidence:
        'Aperture area of the delivered version against the approved one (smaller by about 2 × erosion × open length), mean leaf gap per control point; the area series of the course steps down at startFraction; portal image field edges.',
      writes: [...APERTURE_VERSION_WRITES],
      features: ['mean_gap', 'a_mean_pos', 'b_mean_pos'],
      params: z.strictObject({
        erosionMm: magnitudeParam(3, 0.5, 10, 'margin removed on each side (mm)'),
        ...common,
      }),
      check: (t, cohort, p) => shapedFieldCheck(cohort, t, p),
      apply(ctx) {
        const e = ctx.params.erosionMm / 10;
        const edit = geometryEdit((g) =>
          moveLeaves(
            g,
            openPairs(g),
            (_i, a) => a + e,
            (_i, b) => b - e,
          ),
        );
        return applyToField(ctx, edit, () => `eroded ${ctx.params.erosionMm} mm per side`);
      },
    }),
    oar_expansion: defineVariant({
      description:
        'The aperture opened over an organ at risk: on the open pairs of one half of the field (`half`, default the Y1 half), the leaves of one bank (`bank`, default B) move outward by `expansionMm` (default 5 mm) at every control point, with that X jaw when the head has them.',
      evidence:
        'Aperture area larger than approved on one side only: the leaf positions of one bank over part of the field (per-bank mean position against the approved version), a centroid shift toward that bank; portal images show the widened edge.',
      writes: [...APERTURE_VERSION_WRITES, ...X_JAW_WRITES],
      features: ['mean_gap', 'max_gap'],
      params: z.strictObject({
        expansionMm: magnitudeParam(5, 1, 30, 'how far the bank opens (mm)'),
        bank: z.enum(['A', 'B']).default('B').describe('the bank that opens (A: toward −X, B: toward +X)'),
        half: z
          .enum(['Y1', 'Y2', 'all'])
          .default('Y1')
          .describe('which open pairs: the half toward Y1, toward Y2, or all'),
        ...common,
      }),
      check: (t, cohort, p) => shapedFieldCheck(cohort, t, p),
      apply(ctx) {
        const e = ctx.params.expansionMm / 10;
        const { bank, half } = ctx.params;
        const edit = geometryEdit((g, cp) => {
          const open = openPairs(g);
          const k = Math.ceil(open.length / 2);
          const pairs =
            half === 'all' ? open : half === 'Y1' ? open.slice(0, k) : open.slice(open.length - k);
          const patch =
            bank === 'A'
              ? moveLeaves(
                  g,
                  pairs,
                  (_i, a) => a - e,
                  (_i, b) => b,
                )
              : moveLeaves(
                  g,
                  pairs,
                  (_i, a) => a,
                  (_i, b) => b + e,
                );
          const xJaws = g.x1 > -LEAF_LIMIT || g.x2 < LEAF_LIMIT;
          if (!xJaws) return patch;
          const widest =
            bank === 'A'
              ? Math.min(...pairs.map((i) => g.a[i]! - e))
              : Math.max(...pairs.map((i) => g.b[i]! + e));
          const jaws =
            bank === 'A'
              ? { x1: Math.max(-LEAF_LIMIT, Math.min(g.x1, widest)) }
              : { x2: Math.min(LEAF_LIMIT, Math.max(g.x2, widest)) };
          return { ...patch, ...jawPatch(jaws, cp) };
        });
        return applyToField(
          ctx,
          edit,
          () => `bank ${bank} opened ${ctx.params.expansionMm} mm over the ${half} half`,
        );
      },
    }),
    asymmetric_blur: defineVariant({
      description:
        'One edge blurred: each open leaf of one bank (`bank`, default A) moved by its own random amount, uniform in ±`blurMm` (default 2 mm), at every control point; the other bank is untouched. The mean aperture barely moves, the edge becomes ragged and the penumbra wider.',
      evidence:
        'The spread of one bank’s leaf positions around the approved ones (per-bank standard deviation of the differences; the other bank’s is zero); leaf-to-leaf roughness of that edge; portal image edge analysis.',
      writes: [...APERTURE_VERSION_WRITES],
      features: ['a_std_pos', 'a_mean_pos'],
      params: z.strictObject({
        blurMm: magnitudeParam(2, 0.5, 10, 'largest random displacement of a leaf (mm)'),
        bank: z.enum(['A', 'B']).default('A').describe('the bank whose edge is blurred'),
        ...common,
      }),
      check: (t, cohort, p) => shapedFieldCheck(cohort, t, p),
      apply(ctx) {
        const b = ctx.params.blurMm / 10;
        const rng = ctx.rng;
        const edit = geometryEdit((g) =>
          ctx.params.bank === 'A'
            ? moveLeaves(
                g,
                openPairs(g),
                (_i, a) => a + rng.uniform(-b, b),
                (_i, x) => x,
              )
            : moveLeaves(
                g,
                openPairs(g),
                (_i, a) => a,
                (_i, x) => x + rng.uniform(-b, b),
              ),
        );
        return applyToField(ctx, edit, () => `bank ${ctx.params.bank} blurred ±${ctx.params.blurMm} mm`);
      },
    }),
  },
});
