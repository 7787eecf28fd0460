import type { TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import type { Cohort } from '../../cohort';
import { defineVariant } from '../../failure-mode';
import { apertureProblem, jawPatch, LEAF_LIMIT, moveLeaves, openPairs } from '../../malicious/aperture';
import {
  courseOf,
  deliver,
  magnitudeParam,
  meteredFields,
  minFractionsParam,
  pct,
  plannedMeterset,
  planOf,
  primaryOf,
  r2,
  scaleMeterset,
  signedParam,
  startFractionParam,
} from '../../malicious/attack';
import type { FieldCourse, PlanCourse } from '../../malicious/course';
import type { FieldEdit } from '../../malicious/versions';
import { defineMosaiqMode } from '../shared';
import {
  APERTURE_VERSION_WRITES,
  geometryEdit,
  METERSET_VERSION_WRITES,
  X_JAW_WRITES,
  Y_JAW_WRITES,
} from './writes';

const DEG = Math.PI / 180;

const common = { startFraction: startFractionParam(2), minFractions: minFractionsParam(3) };

/** Plan fields whose control points can be edited leaf by leaf. */
function shapedFields(cohort: Cohort, plan: PlanCourse): FieldCourse[] {
  return plan.fields.filter((f) => apertureProblem(cohort.pointsOfField(f.fractions[0]!.fieldId)) === null);
}

/** The plan qualifies: enough sessions from `startFraction` and at least two fields of the kind needed. */
function multiFieldCheck(
  cohort: Cohort,
  t: TreatmentRecord,
  p: { startFraction: number; minFractions: number },
  fields: (plan: PlanCourse) => FieldCourse[],
  what: string,
): string | null {
  const c = courseOf(cohort, t, p);
  if ('reason' in c) return c.reason;
  const n = fields(c.plan);
  if (!n.some((f) => f.setId === c.field.setId)) return `field ${t.treatment.FLD_ID} is not ${what}`;
  return n.length < 2
    ? `the plan has ${n.length} field ${what}; a coordinated attack needs at least 2`
    : null;
}

/** One version per field, used from `startFraction` on. */
function perField(
  fields: readonly FieldCourse[],
  start: number,
  edit: (f: FieldCourse, i: number) => FieldEdit,
) {
  return fields.map((f, i) => ({
    fractions: f.fractions.filter((x) => x.session >= start),
    edit: edit(f, i),
  }));
}

export const coordinatedMultifieldAttack = defineMosaiqMode({
  id: 'coordinated_multifield_attack',
  kind: 'malicious',
  scope: 'patient',
  description:
    'Errors coordinated across the fields of a plan, each field within its own QA tolerance, the composite dose wrong: every field of the plan is delivered from `startFraction` (default 2) with a version edited together with the others (a TxField version per field, its control points copied and changed).',
  variants: {
    compensatory_errors: defineVariant({
      description:
        'MU moved between fields: alternate fields (by FLD_SET_ID) get Meterset × (1 + `percent`/100) (default +4 %), the others lose the same MU in total, so the plan’s total MU per fraction is unchanged (a per-patient MU sum passes) while the dose shifts toward the boosted beams’ entrance sides.',
      evidence:
        'Per-field Meterset against the approved versions (each off by a few %, of opposite signs) while the per-fraction sum over the plan matches: a per-field one-sample test with the plan total as control; composite (all-field) dose reconstruction or gamma.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        percent: magnitudeParam(
          4,
          0.5,
          30,
          'MU added to the boosted fields (%); the others lose as much MU in total',
        ),
        ...common,
      }),
      check: (t, cohort, p) =>
        multiFieldCheck(cohort, t, p, (plan) => meteredFields(cohort, plan), 'with a meterset'),
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = meteredFields(cohort, plan);
        const mu = fields.map((f) => plannedMeterset(cohort, f));
        const up = mu.reduce((a, m, i) => (i % 2 === 0 ? a + m : a), 0);
        const down = mu.reduce((a, m, i) => (i % 2 === 1 ? a + m : a), 0);
        const cut = (params.percent * up) / down;
        const factor = (i: number) =>
          i % 2 === 0 ? 1 + params.percent / 100 : Math.max(0.01, 1 - cut / 100);
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          perField(fields, params.startFraction, (_f, i) => scaleMeterset(factor(i))),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: ${fields.length} fields ${fields.map((_, i) => pct((factor(i) - 1) * 100)).join(' / ')} MU (plan total unchanged) from fraction ${params.startFraction}`,
        };
      },
    }),
    geometric_shift: defineVariant({
      description:
        'Every field’s aperture shifted so that together they miss the target by `shiftMm` (default 3 mm) along one patient axis (`direction`, default lateral): at each control point the open leaf pairs (and X jaws when the head has them) move by shift × cos(gantry) (lateral) or × sin(gantry) (anterior), × cos(collimator), the projection of one patient-fixed shift onto each beam’s eye view (IEC 61217).',
      evidence:
        'Aperture centroid of each field against the approved version: the per-field centroid shifts are consistent with one patient-fixed vector (a least-squares fit of shift·cos/sin(gantry) across fields); portal images; the MLC centroid series of the course steps at startFraction (Welch t before/after).',
      writes: [...APERTURE_VERSION_WRITES, ...X_JAW_WRITES],
      features: ['a_mean_pos', 'b_mean_pos'],
      params: z.strictObject({
        shiftMm: signedParam(
          3,
          0.5,
          20,
          'the patient-fixed shift (mm); the sign gives the direction along the axis',
        ),
        direction: z.enum(['lateral', 'anterior']).default('lateral').describe('patient axis of the shift'),
        ...common,
      }),
      check: (t, cohort, p) =>
        multiFieldCheck(cohort, t, p, (plan) => shapedFields(cohort, plan), 'with an MLC aperture'),
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = shapedFields(cohort, plan);
        const edit = geometryEdit((g, cp) => {
          const gantry = (cp.Gantry_Ang ?? 0) * DEG;
          const coll = (cp.Coll_Ang ?? 0) * DEG;
          const proj = params.direction === 'lateral' ? Math.cos(gantry) : Math.sin(gantry);
          const d = (params.shiftMm / 10) * proj * Math.cos(coll);
          const patch = moveLeaves(
            g,
            openPairs(g),
            (_i, a) => a + d,
            (_i, b) => b + d,
          );
          const xJaws = g.x1 > -LEAF_LIMIT || g.x2 < LEAF_LIMIT;
          return xJaws ? { ...patch, ...jawPatch({ x1: g.x1 + d, x2: g.x2 + d }, cp) } : patch;
        });
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          perField(fields, params.startFraction, () => edit),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: ${fields.length} fields shifted by a ${params.shiftMm} mm ${params.direction} patient shift from fraction ${params.startFraction}`,
        };
      },
    }),
    aperture_erosion: defineVariant({
      description:
        'Every field’s aperture shrunk by `erosionMm` (default 2 mm) on each side: both leaves of each open pair close by that much (never below a 3 mm gap) and the Y jaws close by as much, at every control point. Each field loses a few % of its area (within a per-field aperture check); together the target margin is under-dosed.',
      evidence:
        'Aperture area of every field against its approved version, all smaller by about the same margin (a paired test across the plan’s fields); the area series of each course steps down at startFraction; portal image field edges.',
      writes: [...APERTURE_VERSION_WRITES, ...Y_JAW_WRITES],
      features: ['mean_gap', 'a_mean_pos', 'b_mean_pos'],
      params: z.strictObject({
        erosionMm: magnitudeParam(2, 0.5, 10, 'margin removed on each side of every aperture (mm)'),
        ...common,
      }),
      check: (t, cohort, p) =>
        multiFieldCheck(cohort, t, p, (plan) => shapedFields(cohort, plan), 'with an MLC aperture'),
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = shapedFields(cohort, plan);
        const e = params.erosionMm / 10;
        const edit = geometryEdit((g, cp) => {
          const patch = moveLeaves(
            g,
            openPairs(g),
            (_i, a) => a + e,
            (_i, b) => b - e,
          );
          const jaws = g.y2 - g.y1 > 2 * e + 1 ? jawPatch({ y1: g.y1 + e, y2: g.y2 - e }, cp) : {};
          return { ...patch, ...jaws };
        });
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          perField(fields, params.startFraction, () => edit),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: ${fields.length} apertures eroded by ${params.erosionMm} mm per side from fraction ${params.startFraction}`,
        };
      },
    }),
    hotspot_creation: defineVariant({
      description:
        'Every field’s aperture extended by `extendMm` (default 10 mm) beyond the same jaw (`side`, default Y2): the jaw opens that far and the leaf pairs it uncovers take the opening of the edge pair, at every control point. The extensions of all fields overlap in the same slab of healthy tissue next to the target: a hot spot.',
      evidence:
        'Aperture area and Y extent of every field against the approved version, all grown on the same side; the jaw-Y centre (Coll_Y1 + Coll_Y2)/2 of the course steps at startFraction in every field at once; composite dose reconstruction shows the overlap.',
      writes: [...APERTURE_VERSION_WRITES, ...Y_JAW_WRITES],
      features: ['a_mean_pos', 'b_mean_pos'],
      cohortFeatures: ['field_y_mean', 'jaw_y_center_mean'],
      params: z.strictObject({
        extendMm: magnitudeParam(10, 3, 50, 'how far the aperture grows beyond the jaw (mm)'),
        side: z.enum(['Y1', 'Y2']).default('Y2').describe('the jaw every field opens'),
        ...common,
      }),
      check: (t, cohort, p) =>
        multiFieldCheck(cohort, t, p, (plan) => shapedFields(cohort, plan), 'with an MLC aperture'),
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = shapedFields(cohort, plan);
        const ext = params.extendMm / 10;
        const edit = geometryEdit((g, cp) => {
          const open = openPairs(g);
          const mid = (i: number) => (g.boundaries[i]! + g.boundaries[i + 1]!) / 2;
          const up = params.side === 'Y2';
          const edge = up ? open[open.length - 1]! : open[0]!;
          const jaw = up ? Math.min(LEAF_LIMIT, g.y2 + ext) : Math.max(-LEAF_LIMIT, g.y1 - ext);
          const uncovered: number[] = [];
          for (let i = 0; i < g.a.length; i++) {
            const y = mid(i);
            if (up ? y >= g.y2 && y < jaw : y <= g.y1 && y > jaw) uncovered.push(i);
          }
          if (uncovered.length === 0) return null;
          const patch = moveLeaves(
            g,
            uncovered,
            () => g.a[edge]!,
            () => g.b[edge]!,
          );
          return { ...patch, ...jawPatch(up ? { y2: jaw } : { y1: jaw }, cp) };
        });
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          perField(fields, params.startFraction, () => edit),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: ${fields.length} apertures extended ${params.extendMm} mm beyond ${params.side} from fraction ${params.startFraction} (${r2(ext)} cm overlap)`,
        };
      },
    }),
  },
});
