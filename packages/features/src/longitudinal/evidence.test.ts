import type { TreatmentRecord } from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { assessPatientMalice, ISOLATED_AUDIT_ROW_STRENGTH, targetingTests } from './evidence';
import { reviewCourses } from './review';
import { courseKeyOf } from './snapshot';
import { coursesOf, versioned } from './test-courses';
import { LongitudinalTracker } from './tracker';

const records = generateRecords({ seed: 23, records: 20_000 });
const byTime = (list: readonly TreatmentRecord[]) =>
  [...list].sort(
    (a, b) =>
      (a.treatment.Create_DtTm?.getTime() ?? 0) - (b.treatment.Create_DtTm?.getTime() ?? 0) ||
      a.treatment.TTX_ID - b.treatment.TTX_ID,
  );
const courses = [...coursesOf(records).values()].filter(
  (c) => c.length >= 12 && (c[0]!.field?.Meterset ?? 0) > 0 && c[0]!.field?.Type_Enum !== 6,
);
const patientOf = (c: TreatmentRecord[]) => c[0]!.treatment.Pat_ID1!;
/** A patient with at least two long treatment courses. */
const twoCourses = (() => {
  const byPatient = new Map<number, TreatmentRecord[][]>();
  for (const c of courses) byPatient.set(patientOf(c), [...(byPatient.get(patientOf(c)) ?? []), c]);
  return [...byPatient.values()].find((list) => list.length >= 2)!;
})();

function track(replace: ReadonlyMap<number, TreatmentRecord>): LongitudinalTracker {
  const tracker = new LongitudinalTracker();
  for (const r of byTime(records.map((x) => replace.get(x.treatment.TTX_ID) ?? x))) tracker.observe(r);
  return tracker;
}
const replaceFrom = (
  course: TreatmentRecord[],
  from: number,
  f: (r: TreatmentRecord, k: number) => TreatmentRecord,
) => course.slice(from).map((r, k) => [r.treatment.TTX_ID, f(r, k)] as const);

describe('reviewCourses (Benjamini–Hochberg across patients × parameters)', () => {
  it('finds nothing on the planned parameters of a clean clinic', () => {
    const review = reviewCourses(track(new Map()).courses());
    expect(review.tested).toBeGreaterThan(1000);
    expect(review.findings.filter((f) => !f.parameter.startsWith('offset_'))).toEqual([]);
  });

  it('finds a 2 % meterset bias with its adjusted p-value and the fraction the alarm fired at', () => {
    const course = courses[0]!;
    const tracker = track(
      new Map(replaceFrom(course, 4, (r) => versioned(r, { meterset: (mu) => mu * 1.02 }))),
    );
    const review = reviewCourses(tracker.courses(), { alpha: 0.01 });
    const finding = review.findings.find((f) => f.parameter === 'meterset')!;
    expect(finding).toMatchObject({ patientId: patientOf(course), test: 'z-test', alarmFraction: 6 });
    expect(finding.effect).toBeCloseTo((2 * (course.length - 4)) / course.length, 1);
    expect(finding.adjustedPValue).toBeLessThanOrEqual(0.01);
    expect(finding.adjustedPValue).toBeGreaterThanOrEqual(finding.pValue);
  });
});

describe('assessPatientMalice', () => {
  it('is 0 for a clean patient, whatever the energy', () => {
    const tracker = track(new Map());
    const a = assessPatientMalice(tracker, patientOf(courses[0]!), 2.8);
    expect(a.maliciousProbability).toBe(0);
    expect(a.evidence.map((e) => e.strength)).toEqual([0, 0, 0, 0, 0]);
    expect(a.recommendation.level).toBe('accidental_high');
  });

  it('combines several anomaly types, missing audit data and intermittent changes', () => {
    const [first, second] = twoCourses;
    const replace = new Map([
      // Dose: every other fraction +5 %, on versions whose audit columns are empty.
      ...replaceFrom(first!, 3, (r, k) =>
        k % 2 === 0 ? versioned(r, { meterset: (mu) => mu * 1.05 }, { editorId: null, editedAt: null }) : r,
      ),
      // Jaws of the other course: 2 mm.
      ...replaceFrom(second!, 3, (r) =>
        versioned(r, { point: (p) => ({ Coll_Y2: (p.Coll_Y2 ?? 0) + 0.2 }) }),
      ),
    ]);
    const tracker = track(replace);
    const a = assessPatientMalice(tracker, patientOf(first!), 2.9);
    const strength = Object.fromEntries(a.evidence.map((e) => [e.id, e.strength]));
    expect(strength.multiple_anomalies).toBe(1); // dose, jaws, audit
    expect(strength.audit_issues).toBe(1);
    expect(strength.temporal_pattern).toBeGreaterThan(0.95);
    expect(a.evidence.find((e) => e.id === 'temporal_pattern')!.pValue).toBeLessThan(0.05);
    expect(a.maliciousProbability).toBeGreaterThan(0.99);
    expect(a.recommendation.level).toBe('high_confidence_malicious');
    expect(a.alarms.map((x) => x.family).sort()).toEqual(expect.arrayContaining(['dose', 'jaws']));
  });

  it('calls a bias that never leaves the tolerance statistical evasion', () => {
    const course = courses[1]!;
    const tracker = track(
      new Map(replaceFrom(course, 2, (r) => versioned(r, { meterset: (mu) => mu * 1.02 }))),
    );
    const a = assessPatientMalice(tracker, patientOf(course), 2.9);
    const evasion = a.evidence.find((e) => e.id === 'statistical_evasion')!;
    expect(evasion.strength).toBeGreaterThan(0.99);
    expect(evasion.detail).toMatch(/within its tolerance/);
  });

  it('finds patients of one age group targeted across the clinic', () => {
    const tracker0 = track(new Map());
    const old = courses.filter((c) => {
      const first = tracker0.courseOf(c[0]!)!.reference!;
      return first.ageYears >= 75;
    });
    const victims = [...new Map(old.map((c) => [patientOf(c), c])).values()].slice(0, 6);
    expect(victims.length).toBe(6);
    const tracker = track(
      new Map(
        victims.flatMap((c) => replaceFrom(c, 3, (r) => versioned(r, { meterset: (mu) => mu * 1.04 }))),
      ),
    );
    const groups = targetingTests(tracker);
    expect(groups[0]).toMatchObject({ attribute: 'age', group: '75+' });
    expect(groups[0]!.adjustedPValue).toBeLessThan(0.05);
    const a = assessPatientMalice(tracker, patientOf(victims[0]!), 2.9, { groups });
    expect(a.evidence.find((e) => e.id === 'targeting')!.strength).toBeGreaterThan(0.95);
    expect(() => assessPatientMalice(tracker, 1, 2.9, { alpha: 2 })).toThrow(/evidence\.alpha/);
  });
});

/** The record with its TrackTreatment row's audit columns changed (`Edit_DtTm`, `Create_ID`, `Edit_ID`). */
const withRow = (r: TreatmentRecord, row: Partial<TreatmentRecord['treatment']>): TreatmentRecord => ({
  ...r,
  treatment: { ...r.treatment, ...row },
});
const editBeforeCreate = (r: TreatmentRecord) =>
  withRow(r, { Edit_DtTm: new Date(r.treatment.Create_DtTm!.getTime() - 2 * 3_600_000) });
const auditOf = (a: ReturnType<typeof assessPatientMalice>) =>
  a.evidence.find((e) => e.id === 'audit_issues')!;
const dayOf = (r: TreatmentRecord) => Math.floor(r.treatment.Create_DtTm!.getTime() / 86_400_000);

describe('assessPatientMalice: one accidental audit row is no evidence of malice', () => {
  const [first, second] = twoCourses;
  const keyOf = (c: TreatmentRecord[]) => courseKeyOf(c[0]!)!;

  it('weighs a single row with Edit_DtTm before Create_DtTm as isolated: no course carries evidence', () => {
    const r = first![5]!;
    const tracker = track(new Map([[r.treatment.TTX_ID, editBeforeCreate(r)]]));
    const a = assessPatientMalice(tracker, patientOf(first!), 1.2);
    expect(auditOf(a).strength).toBe(ISOLATED_AUDIT_ROW_STRENGTH);
    expect(auditOf(a).detail).toBe('Edit_DtTm before Create_DtTm (isolated row)');
    // Not an anomaly type of its own, so no "multiple anomalies" either.
    expect(a.evidence.find((e) => e.id === 'multiple_anomalies')!.strength).toBe(0);
    expect(a.maliciousProbability).toBeCloseTo(0.9 * ISOLATED_AUDIT_ROW_STRENGTH, 12);
    expect(a.maliciousProbability).toBeLessThan(0.5);
    expect(a.evidenceCourses).toEqual([]);
  });

  it('takes rows without Create_ID / Edit_ID on two fields the same day as an audit gap', () => {
    const days = new Set(second!.map(dayOf));
    const a1 = first!.slice(2).find((r) => days.has(dayOf(r)))!;
    const a2 = second!.find((r) => dayOf(r) === dayOf(a1))!;
    const gap = { Create_ID: null, Edit_ID: null };
    const tracker = track(
      new Map([
        [a1.treatment.TTX_ID, withRow(a1, gap)],
        [a2.treatment.TTX_ID, withRow(a2, gap)],
      ]),
    );
    const a = assessPatientMalice(tracker, patientOf(first!), 1.2);
    expect(auditOf(a).strength).toBe(1);
    expect(auditOf(a).detail).toBe('treatment row without Create_ID / Edit_ID');
    expect(a.maliciousProbability).toBeGreaterThanOrEqual(0.9);
    expect([...a.evidenceCourses].sort()).toEqual([keyOf(first!), keyOf(second!)].sort());
  });

  it('keeps two such rows weeks apart on different fields apart: two accidents, not a gap', () => {
    const a1 = first![1]!;
    const a2 = second!.find((r) => dayOf(r) - dayOf(a1) > 7)!;
    const tracker = track(
      new Map([
        [a1.treatment.TTX_ID, editBeforeCreate(a1)],
        [a2.treatment.TTX_ID, editBeforeCreate(a2)],
      ]),
    );
    const a = assessPatientMalice(tracker, patientOf(first!), 1.2);
    expect(auditOf(a).strength).toBe(ISOLATED_AUDIT_ROW_STRENGTH);
    expect(a.maliciousProbability).toBeLessThan(0.5);
  });

  it('counts a row delivered from a changed plan at full strength: the gap covers the edit', () => {
    const replace = new Map(replaceFrom(first!, 4, (r) => versioned(r, { meterset: (mu) => mu * 1.05 })));
    const r = replace.get(first![6]!.treatment.TTX_ID)!;
    replace.set(r.treatment.TTX_ID, editBeforeCreate(r));
    const a = assessPatientMalice(track(replace), patientOf(first!), 1.2);
    expect(auditOf(a).strength).toBe(1);
    expect(auditOf(a).detail).toContain('Edit_DtTm before Create_DtTm');
    expect(auditOf(a).detail).not.toContain('isolated');
    expect(a.maliciousProbability).toBeGreaterThan(0.9);
    expect(a.evidenceCourses).toEqual([keyOf(first!)]);
  });

  it('still counts one field version without Edit_DtTm / Edit_ID at full strength (an edit hidden from the trail)', () => {
    const r = first![6]!;
    const hidden = versioned(r, { meterset: (mu) => mu * 1.05 }, { editorId: null, editedAt: null });
    const a = assessPatientMalice(track(new Map([[r.treatment.TTX_ID, hidden]])), patientOf(first!), 1.2);
    expect(auditOf(a).strength).toBe(1);
    expect(auditOf(a).detail).toContain('field version without Edit_DtTm / Edit_ID');
    expect(a.maliciousProbability).toBeGreaterThan(0.5);
    expect(a.evidenceCourses).toEqual([keyOf(first!)]);
  });
});
