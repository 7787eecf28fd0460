import type { OffsetRow, TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import { compact, updateCell } from '../../change-builders';
import type { Cohort } from '../../cohort';
import { defineVariant } from '../../failure-mode';
import { apertureProblem, LEAF_LIMIT, moveLeaves, openPairs } from '../../malicious/aperture';
import {
  courseOf,
  deliver,
  magnitudeParam,
  minFractionsParam,
  pct,
  primaryOf,
  r2,
  scaleMeterset,
  signedParam,
  startFractionParam,
} from '../../malicious/attack';
import type { PlanCourse, Session } from '../../malicious/course';
import { defineMosaiqMode, must } from '../shared';
import { APERTURE_VERSION_WRITES, geometryEdit, METERSET_VERSION_WRITES } from './writes';

const common = { startFraction: startFractionParam(1), minFractions: minFractionsParam(5) };

const AXES = { superior: 'Superior_Offset', anterior: 'Anterior_Offset', lateral: 'Lateral_Offset' } as const;

/** The target's field course has `minFractions` fractions and enough from `startFraction`. */
function fieldCheck(cohort: Cohort, t: TreatmentRecord, p: { startFraction: number; minFractions: number }) {
  const c = courseOf(cohort, t, p);
  return 'reason' in c ? c.reason : null;
}

/** Offsets acquired in a session (Version 0, a valid state), the images its set-up corrections came from. */
function sessionOffsets(cohort: Cohort, plan: PlanCourse, s: Session): OffsetRow[] {
  const from = s.start.getTime() - 2 * 3600_000;
  const to = s.end.getTime() + 3600_000;
  return cohort.rowsWhere('Offset', 'SIT_SET_ID', plan.siteSetId).filter((o) => {
    const t = o.Study_DtTm?.getTime();
    return (
      o.Version === 0 &&
      (o.Offset_State === 1 || o.Offset_State === 2) &&
      t !== undefined &&
      t >= from &&
      t <= to
    );
  });
}

/** Imaged sessions from `start` on, with their offsets (an offset counts for the first session whose window holds it). */
function imagedSessions(cohort: Cohort, plan: PlanCourse, start: number) {
  const seen = new Set<number>();
  return plan.sessions
    .map((s) => {
      const offsets = sessionOffsets(cohort, plan, s).filter((o) => !seen.has(o.OFF_ID));
      for (const o of offsets) seen.add(o.OFF_ID);
      return { session: s, offsets };
    })
    .filter((x) => x.session.number >= start && x.offsets.length > 0);
}

const wrap = (deg: number) => Math.round((((deg % 360) + 360) % 360) * 10) / 10;

export const gradualParameterDrift = defineMosaiqMode({
  id: 'gradual_parameter_drift',
  kind: 'malicious',
  scope: 'patient',
  description:
    'A treatment parameter moved a little further at every fraction so that no single fraction is out of tolerance: the gantry angle, the set-up isocentre (the session’s couch-shift Offset), the meterset or the leaf positions drift linearly (compounding for MU) from `startFraction`. Field parameters drift through one TxField version per fraction.',
  variants: {
    gantry_angle_drift: defineVariant({
      description:
        'Gantry_Ang of every control point of the target field + k × `degreesPerFraction` (default 0.5°) at the k-th attacked fraction: after 10 fractions the beam enters 5° off plan.',
      evidence:
        'Mean gantry angle of the delivered version per fraction against the approved one: Mann–Kendall trend and Sen slope ≈ degreesPerFraction; CUSUM; angle checks against the plan and portal images.',
      writes: [...APERTURE_VERSION_WRITES.filter((w) => !w.includes('Leaf')), 'TxFieldPoint.Gantry_Ang'],
      features: ['gantry_mean'],
      params: z.strictObject({
        degreesPerFraction: signedParam(0.5, 0.05, 5, 'gantry rotation added at each fraction (°)'),
        ...common,
      }),
      check: (t, cohort, p) => {
        const reason = fieldCheck(cohort, t, p);
        if (reason) return reason;
        return t.controlPoints.some((cp) => cp.Gantry_Ang === null)
          ? 'a control point has a NULL Gantry_Ang'
          : null;
      },
      apply({ target, cohort, params, rng, keys }) {
        const c = must(courseOf(cohort, target, params));
        const fractions = c.field.fractions.filter((f) => f.number >= params.startFraction);
        const writer = deliver(
          { cohort, keys, rng },
          c.plan,
          fractions.map((f, k) => ({
            fractions: [f],
            edit: {
              point: (cp) => ({ Gantry_Ang: wrap(cp.Gantry_Ang! + (k + 1) * params.degreesPerFraction) }),
            },
          })),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `field ${target.treatment.FLD_ID}: gantry drifting ${params.degreesPerFraction}° per fraction over ${fractions.length} fractions (${r2(fractions.length * params.degreesPerFraction)}° at the last)`,
        };
      },
    }),
    isocenter_shift: defineVariant({
      description:
        'The set-up isocentre moved step by step: the couch-shift Offset recorded and applied at each imaged session from `startFraction` is changed by k × `mmPerFraction` (default 1 mm) along `axis` (default superior) at the k-th attacked session, rounded to the stored millimetre; the patient ends up progressively off the planned isocentre.',
      evidence:
        'The session offsets of the site set (Version 0, by Study_DtTm) along one axis: Mann–Kendall trend and Sen slope ≈ mmPerFraction, where a patient’s set-up corrections normally scatter around a constant systematic error; CUSUM; offset_shift_vs_previous grows steadily.',
      writes: ['Offset.Superior_Offset', 'Offset.Anterior_Offset', 'Offset.Lateral_Offset'],
      features: ['offset_vector_magnitude'],
      cohortFeatures: ['offset_shift_vs_previous'],
      params: z.strictObject({
        mmPerFraction: signedParam(1, 0.2, 10, 'isocentre shift added at each imaged fraction (mm)'),
        axis: z.enum(['superior', 'anterior', 'lateral']).default('superior').describe('axis of the drift'),
        ...common,
      }),
      check(t, cohort, p) {
        const plan = courseOf(cohort, t, { minFractions: 1 });
        if ('reason' in plan) return plan.reason;
        const imaged = imagedSessions(cohort, plan.plan, p.startFraction);
        return imaged.length >= p.minFractions
          ? null
          : `the plan has ${imaged.length} imaged sessions (with an Offset) from fraction ${p.startFraction}; the drift needs at least ${p.minFractions}`;
      },
      apply({ target, cohort, params }) {
        const { plan } = must(courseOf(cohort, target, { minFractions: 1 }));
        const imaged = imagedSessions(cohort, plan, params.startFraction);
        const column = AXES[params.axis];
        const changes = compact(
          imaged.flatMap(({ offsets }, k) => {
            // The stored offset has millimetre resolution: round the cumulative shift, not each step.
            const shift = Math.round((k + 1) * params.mmPerFraction) / 10;
            return offsets.map((o) =>
              o[column] === null
                ? null
                : updateCell('Offset', o, column, Math.round((o[column]! + shift) * 10) / 10),
            );
          }),
        );
        return {
          changes,
          primaryTtxId: primaryOf(
            imaged.flatMap((x) => x.session.fractions),
            target,
            cohort,
          ),
          summary: `patient ${plan.patientId}: ${params.axis} offset drifting ${params.mmPerFraction} mm per imaged fraction over ${imaged.length} sessions (${r2((imaged.length * params.mmPerFraction) / 10)} cm at the last)`,
        };
      },
    }),
    mu_creep: defineVariant({
      description:
        'Meterset of the target field × (1 + `percentPerFraction`/100)^k at the k-th attacked fraction (default +1 % per fraction, compounding: +10.5 % after 10 fractions); each step stays under a per-fraction check against the previous fraction.',
      evidence:
        'Per-fraction Meterset of the field (by FLD_SET_ID) against the approved Version 0: Mann–Kendall on log MU with Sen slope ≈ log(1 + p); CUSUM; cumulative MU over the course well above plan.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        percentPerFraction: magnitudeParam(1, 0.1, 5, 'meterset increase at each fraction (%, compounding)'),
        ...common,
      }),
      check: (t, cohort, p) => {
        const reason = fieldCheck(cohort, t, p);
        if (reason) return reason;
        return t.field?.Meterset && t.field.Meterset > 0
          ? null
          : `field ${t.treatment.FLD_ID} has Meterset ${t.field?.Meterset}`;
      },
      apply({ target, cohort, params, rng, keys }) {
        const c = must(courseOf(cohort, target, params));
        const fractions = c.field.fractions.filter((f) => f.number >= params.startFraction);
        const factor = (k: number) => (1 + params.percentPerFraction / 100) ** (k + 1);
        const writer = deliver(
          { cohort, keys, rng },
          c.plan,
          fractions.map((f, k) => ({ fractions: [f], edit: scaleMeterset(factor(k)) })),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `field ${target.treatment.FLD_ID}: MU creeping ${pct(params.percentPerFraction)} per fraction over ${fractions.length} fractions (${pct((factor(fractions.length - 1) - 1) * 100)} at the last)`,
        };
      },
    }),
    mlc_drift: defineVariant({
      description:
        'Every open leaf pair of the target field moved by k × `mmPerFraction` (default 0.5 mm) at the k-th attacked fraction, both banks together, at every control point: the aperture slides off the target a little more each day.',
      evidence:
        'Aperture centroid (mean leaf-pair centre) of the delivered version per fraction against the approved one: Mann–Kendall trend and Sen slope ≈ mmPerFraction; MLC QA and portal images.',
      writes: [...APERTURE_VERSION_WRITES],
      features: ['a_mean_pos', 'b_mean_pos'],
      params: z.strictObject({
        mmPerFraction: signedParam(0.5, 0.05, 5, 'leaf shift added at each fraction (mm; + toward bank B)'),
        ...common,
      }),
      check(t, cohort, p) {
        const reason = fieldCheck(cohort, t, p);
        if (reason) return reason;
        const problem = apertureProblem(t.controlPoints);
        return problem === null ? null : `field ${t.treatment.FLD_ID}: ${problem}`;
      },
      apply({ target, cohort, params, rng, keys }) {
        const c = must(courseOf(cohort, target, params));
        const fractions = c.field.fractions.filter((f) => f.number >= params.startFraction);
        const writer = deliver(
          { cohort, keys, rng },
          c.plan,
          fractions.map((f, k) => {
            const d = ((k + 1) * params.mmPerFraction) / 10;
            return {
              fractions: [f],
              edit: geometryEdit((g) =>
                moveLeaves(
                  g,
                  openPairs(g),
                  (_i, a) => Math.max(-LEAF_LIMIT, a + d),
                  (_i, b) => Math.min(LEAF_LIMIT, b + d),
                ),
              ),
            };
          }),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `field ${target.treatment.FLD_ID}: leaves drifting ${params.mmPerFraction} mm per fraction over ${fractions.length} fractions (${r2((fractions.length * params.mmPerFraction) / 10)} cm at the last)`,
        };
      },
    }),
  },
});
