import {
  type Cohort,
  createCohort,
  createFailureCatalogue,
  defineFailureMode,
  defineVariant,
  type KeyAllocator,
  noParams,
} from '@anomalia/failure-modes';
import { courseKeyOf, isCourseDelivery, LongitudinalTracker } from '@anomalia/features';
import {
  applyChanges,
  assembleRecords,
  type Change,
  type TableRows,
  type TreatmentRecord,
} from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { evaluateLongitudinalDetection } from './longitudinal-evaluation';

/**
 * evaluateLongitudinalDetection's counting on a constructed case: a test catalogue whose one
 * (malicious) mode changes exactly the courses we choose, from their 6th fraction (the onset):
 *
 * - `linear_ramp`: course A delivered from a version with 1.5 × MU (far above the 5 % tolerance),
 *   course B with 1.01 × MU (below it);
 * - `random_walk`: course C's rows get a Resolved_DtTm (nothing the tracker follows; effect 0).
 *
 * The "clean" clinic itself has course D delivered at 1.3 × MU from its 6th fraction, so that its
 * false-alarm count is not trivially 0. The expected numbers are worked out here from the cohort
 * and a tracker of our own.
 */
const ONSET = 6;

const byTime = (a: TreatmentRecord, b: TreatmentRecord) =>
  a.treatment.Create_DtTm!.getTime() - b.treatment.Create_DtTm!.getTime() ||
  a.treatment.TTX_ID - b.treatment.TTX_ID;

/** Delivered treatment courses of at least 12 fractions (metered, non-imaging fields), one per patient. */
function longCourses(records: readonly TreatmentRecord[]): TreatmentRecord[][] {
  const byKey = new Map<string, TreatmentRecord[]>();
  for (const r of [...records].sort(byTime)) {
    if (!isCourseDelivery(r) || r.treatment.WasBeamComplete !== true) continue;
    const key = courseKeyOf(r)!;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  const seen = new Set<number>();
  const out: TreatmentRecord[][] = [];
  for (const c of byKey.values()) {
    const f = c[0]!.field;
    const patient = c[0]!.treatment.Pat_ID1!;
    if (c.length < 12 || !f?.Meterset || [3, 4, 6].includes(f.Type_Enum ?? -1) || seen.has(patient)) continue;
    // One version per course: the repointed fractions then differ only by the new version.
    if (new Set(c.map((r) => r.treatment.FLD_ID)).size !== 1) continue;
    seen.add(patient);
    out.push(c);
  }
  return out;
}

/** Fractions from the onset on delivered from a new version of the field with `factor` × MU. */
function newVersion(course: readonly TreatmentRecord[], factor: number, keys: KeyAllocator): Change[] {
  const field = course[0]!.field!;
  const fldId = keys.allocate('TxField');
  const changes: Change[] = [
    {
      kind: 'insert',
      table: 'TxField',
      key: fldId,
      row: { ...field, FLD_ID: fldId, Meterset: Math.round(field.Meterset! * factor * 100) / 100 },
    },
  ];
  for (const p of course[0]!.controlPoints) {
    const id = keys.allocate('TxFieldPoint');
    changes.push({
      kind: 'insert',
      table: 'TxFieldPoint',
      key: id,
      row: { ...p, TFP_ID: id, FLD_ID: fldId },
    });
  }
  for (const r of course.slice(ONSET - 1)) {
    changes.push({
      kind: 'update',
      table: 'TrackTreatment',
      key: r.treatment.TTX_ID,
      column: 'FLD_ID',
      oldValue: field.FLD_ID,
      newValue: fldId,
    });
  }
  return changes;
}

const base = generateRecords({ seed: 5, records: 1_000_000, days: 30, newCoursesPerDay: 1 });
const baseRows = createCohort(base).rows as TableRows;
let nextKey = 10_000_000;
const keys = { allocate: () => nextKey++ } as unknown as KeyAllocator;
const D = longCourses(base)[3]!;
const cohort: Cohort = createCohort(applyChanges(baseRows, newVersion(D, 1.3, keys)));
const records = cohort.records;
const [A, B, C] = longCourses(records) as [TreatmentRecord[], TreatmentRecord[], TreatmentRecord[]];
const factorOf = new Map([
  [A[0]!.treatment.TTX_ID, 1.5],
  [B[0]!.treatment.TTX_ID, 1.01],
]);

const courseOfTarget = (t: TreatmentRecord) =>
  [A, B, C].find((c) => c[0]!.treatment.TTX_ID === t.treatment.TTX_ID);

const testMode = defineFailureMode({
  id: 'subtle_dose_escalation',
  kind: 'malicious',
  scope: 'field',
  description: 'test mode: chosen courses changed from their 6th fraction',
  variants: {
    linear_ramp: defineVariant({
      description: 'course A at 1.5 × MU, course B at 1.01 × MU from fraction 6',
      writes: ['TxField', 'TxFieldPoint', 'TrackTreatment.FLD_ID'],
      features: [],
      params: noParams,
      check: (t) => (factorOf.has(t.treatment.TTX_ID) ? null : 'not a chosen course'),
      apply({ target, keys }) {
        const course = courseOfTarget(target)!;
        return {
          changes: newVersion(course, factorOf.get(target.treatment.TTX_ID)!, keys),
          primaryTtxId: course[ONSET - 1]!.treatment.TTX_ID,
          summary: 'meterset step',
        };
      },
    }),
    random_walk: defineVariant({
      description: 'course C’s rows from fraction 6 resolved later (no tracked parameter changes)',
      writes: ['TrackTreatment.Resolved_DtTm'],
      features: [],
      params: noParams,
      check: (t) => (t.treatment.TTX_ID === C[0]!.treatment.TTX_ID ? null : 'not course C'),
      apply() {
        return {
          changes: C.slice(ONSET - 1).map(
            (r): Change => ({
              kind: 'update',
              table: 'TrackTreatment',
              key: r.treatment.TTX_ID,
              column: 'Resolved_DtTm',
              oldValue: r.treatment.Resolved_DtTm,
              newValue: new Date(r.treatment.Create_DtTm!.getTime() + 86_400_000),
            }),
          ),
          primaryTtxId: C[ONSET - 1]!.treatment.TTX_ID,
          summary: 'resolved later',
        };
      },
    }),
  },
});
const catalogue = createFailureCatalogue([testMode]);

/** Our own replay of one course: the patient's records with the change, tracked on the clean clinic's noise. */
function expectedAlarms(
  clean: LongitudinalTracker,
  course: readonly TreatmentRecord[],
  changes: readonly Change[],
) {
  const patient = course[0]!.treatment.Pat_ID1!;
  const after = assembleRecords(applyChanges(cohort.rows as TableRows, changes)).filter(
    (r) => r.treatment.Pat_ID1 === patient,
  );
  const tracker = new LongitudinalTracker({}, { noiseFrom: clean });
  for (const r of after.sort(byTime)) tracker.observe(r);
  return tracker.course(courseKeyOf(course[0]!)!)!.alarms;
}

describe('evaluateLongitudinalDetection on a constructed case', () => {
  const evaluation = evaluateLongitudinalDetection({ cohort, catalogue, applicationsPerVariant: 5, seed: 3 });
  const clean = new LongitudinalTracker({});
  for (const r of [...records].sort(byTime)) clean.observe(r);
  const alarmsA = expectedAlarms(clean, A, newVersion(A, 1.5, keys));
  const alarmsB = expectedAlarms(clean, B, newVersion(B, 1.01, keys));
  const firstAfterOnset = (alarms: typeof alarmsA) => alarms.find((a) => a.fraction >= ONSET);

  it('counts the clean clinic’s courses of ≥ 5 fractions and those with an alarm', () => {
    const all = [...clean.courses()].filter((c) => c.fractions.length >= 5);
    expect(evaluation.clean.courses).toBe(all.length);
    expect(evaluation.clean.alarmed).toBe(all.filter((c) => c.alarms.length > 0).length);
    expect(evaluation.clean.rate).toBeCloseTo(evaluation.clean.alarmed / evaluation.clean.courses, 15);
    expect(evaluation.clean.courses).toBeGreaterThan(50);
    // Course D's alarm is one of them.
    expect(clean.course(courseKeyOf(D[0]!)!)!.alarms.length).toBeGreaterThan(0);
    expect(evaluation.clean.alarmed).toBeGreaterThanOrEqual(1);
  });

  it('counts detections, delays in fractions and the above-tolerance courses of a variant', () => {
    const v = evaluation.variants.find((x) => x.variant === 'linear_ramp')!;
    expect(v).toMatchObject({ mode: 'subtle_dose_escalation', applications: 2, courses: 2, shortCourses: 0 });
    // A 50 % step is caught; our own replay says at which fraction.
    const hitA = firstAfterOnset(alarmsA)!;
    expect(hitA).toBeDefined();
    const hitB = firstAfterOnset(alarmsB);
    const detected = 1 + (hitB ? 1 : 0);
    expect(v.detected).toBe(detected);
    expect(v.rate).toBe(detected / 2);
    const delays = [hitA.fraction - ONSET + 1, ...(hitB ? [hitB.fraction - ONSET + 1] : [])].sort(
      (a, b) => a - b,
    );
    expect(v.medianDelay).toBe(delays.length === 2 ? (delays[0]! + delays[1]!) / 2 : delays[0]);
    // Only course A is above the 5 % tolerance: 50 % on the fractions from the 6th of its n.
    const n = A.length;
    expect(v.overTolerance).toMatchObject({ courses: 1, detected: 1, rate: 1 });
    // Course A's points from its onset: one new field version, delivered with each distinct offset.
    const points = new Set(A.slice(ONSET - 1).map((r) => r.offset?.OFF_ID ?? null)).size;
    const withPowerPoints = (powerPoints: number) =>
      evaluateLongitudinalDetection({
        cohort,
        catalogue,
        applicationsPerVariant: 5,
        seed: 3,
        powerPoints,
      }).variants.find((x) => x.variant === 'linear_ramp')!.overTolerance.long;
    expect(withPowerPoints(points)).toEqual({ courses: 1, detected: 1, rate: 1 });
    expect(withPowerPoints(points + 1)).toEqual({ courses: 0, detected: 0, rate: null });
    expect(v.maxEffect.dosePercent).toBeCloseTo((50 * (n - ONSET + 1)) / n, 0);
    expect(v.maxEffect.geometryMm).toBe(0);
    expect(v.preOnsetAlarms).toBe([...alarmsA, ...alarmsB].filter((a) => a.fraction < ONSET).length);
    const labels: Record<string, number> = {};
    for (const h of [hitA, hitB])
      if (h) labels[`${h.test} ${h.parameter}`] = (labels[`${h.test} ${h.parameter}`] ?? 0) + 1;
    expect(v.firstAlarms).toEqual(labels);
    expect(v.malice.patients).toBe(2);
  });

  it('counts an affected course without a detection and without an effect', () => {
    const v = evaluation.variants.find((x) => x.variant === 'random_walk')!;
    expect(v).toMatchObject({
      applications: 1,
      courses: 1,
      detected: 0,
      rate: 0,
      medianDelay: null,
      overTolerance: { courses: 0, detected: 0, rate: null },
      maxEffect: { dosePercent: 0, geometryMm: 0 },
      firstAlarms: {},
    });
    expect(v.statistical).toEqual({ rate: 0, overToleranceRate: null });
  });
});
