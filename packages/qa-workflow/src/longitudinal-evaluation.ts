import { parseWith, Rng } from '@anomalia/core';
import {
  type Cohort,
  createKeyAllocator,
  type FailureApplication,
  type FailureCatalogue,
  failureCatalogue,
  impactOf,
  type KeyAllocator,
  NotApplicableError,
} from '@anomalia/failure-modes';
import {
  assessPatientMalice,
  type CourseAlarm,
  courseKeyOf,
  isCourseDelivery,
  LongitudinalTracker,
  type TrackerOptionsInput,
  targetingTests,
} from '@anomalia/features';
import {
  applyChanges,
  assembleRecords,
  type Change,
  emptyTableRows,
  MOSAIQ_TABLES,
  type TableName,
  type TableRows,
  type TreatmentRecord,
} from '@anomalia/mosaiq';
import type { FailureModeKind } from '@anomalia/severity';
import { z } from 'zod';
import { type CourseEffect, courseEffect } from './course-effect';
import { treatmentsWithOwnRowsChanged } from './monitor-view';
import type { WorkflowProgress } from './progress';
import { isTrainingEligible } from './training-set';

/**
 * Detection rate and delay of the longitudinal alarms per failure-mode variant (the malicious
 * ones by default), and their false-alarm rate on clean courses.
 *
 * The clean clinic is tracked once: the share of its courses with any alarm is the false-alarm
 * rate. Then each variant is applied to `applicationsPerVariant` seeded targets, one application
 * at a time on the clean cohort, and the affected patients are replayed through a tracker that
 * starts from the clean clinic's pooled noise, as a monitor would have seen them: a course's
 * fractions before its onset (the first fraction whose own TrackTreatment row the attack changed,
 * else the first it affects) stay clean, later ones are corrupted. An affected course is
 * detected when an alarm fires at or after its onset; the delay is the number of fractions from
 * the onset to the alarm, the onset fraction counting 1. Each course's cumulative effect is
 * measured against the clean course (see `courseEffect`): the detection target applies to the
 * courses above the clinical tolerance.
 */
export const LongitudinalEvaluationOptionsSchema = z.strictObject({
  /** Applications per variant (fewer when the variant has fewer suitable targets). */
  applicationsPerVariant: z.number().int().min(1).max(1000).default(20),
  /** Failure-mode kinds evaluated. */
  kinds: z.array(z.enum(['accidental', 'malicious'])).default(['malicious']),
  seed: z.union([z.number().int(), z.string()]).default(1),
  /** Clinical tolerance: a course is above it at ≥ `dosePercent` cumulative dose change or ≥ `geometryMm` mean displacement. */
  tolerance: z
    .strictObject({
      dosePercent: z.number().positive().default(5),
      geometryMm: z.number().positive().default(3),
    })
    .default({ dosePercent: 5, geometryMm: 3 }),
  /** Courses with fewer fractions in the cohort are left out of every rate (too short to chart). */
  minCourseFractions: z.number().int().min(1).default(5),
  /**
   * Above-tolerance courses with at least this many points from the onset are also counted apart
   * (a point: a distinct field version and set-up offset a fraction was delivered with; fractions
   * reusing the last offset of an unimaged session add none). A slow drift is a trend on a noisy
   * series: the least-squares slope over n points has standard error σ / √(n(n² − 1)/12), so a
   * drift of δ per point is found with 90 % power at 1 % false alarms (z ≥ 2.33 + 1.28) only when
   * δ·√(n(n² − 1)/12)/σ ≥ 3.61. For the default couch drift (δ = 1 mm per imaged session) against
   * set-up noise σ ≈ 2.5 mm that is n ≥ 10; fewer points stay below that power whatever the test.
   */
  powerPoints: z.number().int().min(2).default(10),
});
export type LongitudinalEvaluationOptionsInput = z.input<typeof LongitudinalEvaluationOptionsSchema>;

export interface VariantDetection {
  readonly mode: string;
  readonly variant: string;
  readonly severity: number;
  /** Applications made (targets the variant could not take are skipped). */
  readonly applications: number;
  /** Courses (patient × field) the applications affected, with at least `minCourseFractions` fractions. */
  readonly courses: number;
  /** Affected courses left out: fewer than `minCourseFractions` fractions in the cohort (no history to compare with). */
  readonly shortCourses: number;
  /** Affected courses with an alarm at or after their onset. */
  readonly detected: number;
  readonly rate: number;
  /**
   * Detected by the statistical alarms alone (CUSUM, Mann–Kendall), without the version rules
   * (`version-churn`, `archived-version`), among all affected courses and among those above the
   * tolerance.
   */
  readonly statistical: { readonly rate: number; readonly overToleranceRate: number | null };
  /** Median delay in fractions over the detected courses (1 = at the onset fraction), null when none. */
  readonly medianDelay: number | null;
  /** Affected courses whose cumulative effect exceeds the tolerance, and how many of them were detected. */
  readonly overTolerance: {
    readonly courses: number;
    readonly detected: number;
    readonly rate: number | null;
    /** Those with at least `powerPoints` points from the onset, and how many were detected. */
    readonly long: { readonly courses: number; readonly detected: number; readonly rate: number | null };
  };
  /** Largest cumulative dose change (%) and mean displacement (mm) over the affected courses. */
  readonly maxEffect: { readonly dosePercent: number; readonly geometryMm: number };
  /** Alarms in affected courses before their onset (false alarms of the clean part). */
  readonly preOnsetAlarms: number;
  /** Which tests and parameters fired first, with counts (e.g. `cusum meterset`: 12). */
  readonly firstAlarms: Readonly<Record<string, number>>;
  /**
   * Seed 001's malicious probability of the attacked patients, from the evidence the tracker
   * gathered (`assessPatientMalice`): its median, and the share of patients at ≥ 0.5.
   * `suspectedCourses`: the share of affected courses whose patient is at ≥ 0.5;
   * `raisedCourses`: … and which carry evidence themselves (`evidenceCourses`): the courses whose
   * records a monitor raises to critical.
   */
  readonly malice: {
    readonly patients: number;
    readonly median: number | null;
    readonly atLeastHalf: number;
    readonly suspectedCourses: number;
    readonly raisedCourses: number;
  };
}

export interface LongitudinalEvaluation {
  readonly variants: readonly VariantDetection[];
  /**
   * Clean courses of the clinic (with at least `minCourseFractions` fractions) and those with an
   * alarm; clean patients and the share whose malicious probability is ≥ 0.5.
   */
  readonly clean: {
    readonly courses: number;
    readonly alarmed: number;
    readonly rate: number;
    readonly patients: number;
    readonly maliceAtLeastHalf: number;
  };
  readonly tolerance: { readonly dosePercent: number; readonly geometryMm: number };
  /** Above-tolerance courses with at least this many points from the onset are counted apart (`overTolerance.long`). */
  readonly powerPoints: number;
  readonly applicationsPerVariant: number;
  readonly seed: number | string;
}

export interface LongitudinalEvaluationInput extends LongitudinalEvaluationOptionsInput {
  /** The clean cohort (e.g. the training set's cohort as read from the source). */
  readonly cohort: Cohort;
  readonly catalogue?: FailureCatalogue;
  /** Keys above every key of the database (default: above the cohort's). */
  readonly keys?: KeyAllocator;
  readonly tracking?: TrackerOptionsInput;
  readonly progress?: WorkflowProgress;
}

const byTime = (a: TreatmentRecord, b: TreatmentRecord) =>
  (a.treatment.Create_DtTm?.getTime() ?? Number.POSITIVE_INFINITY) -
    (b.treatment.Create_DtTm?.getTime() ?? Number.POSITIVE_INFINITY) ||
  a.treatment.TTX_ID - b.treatment.TTX_ID;

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function evaluateLongitudinalDetection(input: LongitudinalEvaluationInput): LongitudinalEvaluation {
  const { cohort, catalogue = failureCatalogue, keys, tracking, progress, ...rest } = input;
  const o = parseWith(LongitudinalEvaluationOptionsSchema, rest, 'longitudinal');
  const allocator = keys ?? createKeyAllocator({ rows: cohort.rows });

  progress?.stage(`tracking the ${cohort.records.length} clean treatments`);
  const clean = new LongitudinalTracker(tracking ?? {});
  for (const r of [...cohort.records].sort(byTime)) clean.observe(r);
  let cleanCourses = 0;
  let cleanAlarmed = 0;
  for (const c of clean.courses()) {
    if (c.fractions.length < o.minCourseFractions) continue;
    cleanCourses++;
    if (c.alarms.length > 0) cleanAlarmed++;
  }

  const cleanGroups = targetingTests(clean);
  const cleanPatients = [...new Set([...clean.courses()].map((c) => c.patientId))];
  const cleanMalice = cleanPatients.filter(
    (p) => assessPatientMalice(clean, p, 0, { groups: cleanGroups }).maliciousProbability >= 0.5,
  ).length;

  const rng = new Rng(o.seed);
  const variants: VariantDetection[] = [];
  const modes = catalogue.modes.filter((m) => o.kinds.includes(m.kind as FailureModeKind));
  for (const mode of modes) {
    for (const variant of mode.variants) {
      progress?.step(
        'variants',
        variants.length + 1,
        modes.reduce((a, m) => a + m.variants.length, 0),
      );
      const vrng = rng.fork();
      const population = mode.targets(cohort, variant.id).filter(isTrainingEligible);
      const targets = vrng.choice(population, Math.min(o.applicationsPerVariant * 3, population.length));
      const acc = {
        applications: 0,
        courses: 0,
        detected: 0,
        delays: [] as number[],
        over: 0,
        overDetected: 0,
        long: 0,
        longDetected: 0,
        dose: 0,
        geometry: 0,
        preOnset: 0,
        first: {} as Record<string, number>,
        malice: [] as number[],
        affectedCourses: 0,
        suspectedCourses: 0,
        raisedCourses: 0,
        statistical: 0,
        statisticalOver: 0,
        short: 0,
      };
      for (const target of targets) {
        if (acc.applications >= o.applicationsPerVariant) break;
        let app: FailureApplication;
        try {
          app = mode.apply({ variant: variant.id, target, cohort, rng: vrng.fork(), keys: allocator });
        } catch (e) {
          if (e instanceof NotApplicableError) continue;
          throw e;
        }
        acc.applications++;
        const replay = replayAttack(cohort, app.changes, clean, tracking);
        const alarmedPatients = new Set(
          replay.courses.filter((c) => c.alarms.length > 0).map((c) => c.patientId),
        );
        const groups = targetingTests(clean, { alarmed: alarmedPatients });
        const raised = new Set<string>();
        const suspected = new Set<number>();
        for (const p of new Set(replay.courses.map((c) => c.patientId))) {
          const a = assessPatientMalice(replay.tracker, p, 0, { groups });
          acc.malice.push(a.maliciousProbability);
          if (a.maliciousProbability < 0.5) continue;
          suspected.add(p);
          for (const key of a.evidenceCourses) raised.add(key);
        }
        acc.affectedCourses += replay.courses.length;
        acc.suspectedCourses += replay.courses.filter((c) => suspected.has(c.patientId)).length;
        acc.raisedCourses += replay.courses.filter((c) => raised.has(c.key)).length;
        for (const course of replay.courses) {
          if (course.fractions < o.minCourseFractions) {
            acc.short++;
            continue;
          }
          acc.courses++;
          acc.preOnset += course.alarms.filter((a) => a.fraction < course.onset).length;
          const hit = course.alarms.find((a) => a.fraction >= course.onset);
          const statistical = course.alarms.some(
            (a) => a.fraction >= course.onset && (a.test === 'cusum' || a.test === 'mann-kendall'),
          );
          const over =
            Math.abs(course.effect.dosePercent) >= o.tolerance.dosePercent ||
            course.effect.geometryMm >= o.tolerance.geometryMm;
          acc.dose = Math.max(acc.dose, Math.abs(course.effect.dosePercent));
          acc.geometry = Math.max(acc.geometry, course.effect.geometryMm);
          const long = over && course.pointsFromOnset >= o.powerPoints;
          if (over) acc.over++;
          if (long) acc.long++;
          if (statistical) {
            acc.statistical++;
            if (over) acc.statisticalOver++;
          }
          if (!hit) continue;
          acc.detected++;
          if (over) acc.overDetected++;
          if (long) acc.longDetected++;
          acc.delays.push(hit.fraction - course.onset + 1);
          const label = `${hit.test} ${hit.parameter}`;
          acc.first[label] = (acc.first[label] ?? 0) + 1;
        }
      }
      variants.push({
        mode: mode.id,
        variant: variant.id,
        severity: variant.severity,
        applications: acc.applications,
        courses: acc.courses,
        shortCourses: acc.short,
        detected: acc.detected,
        rate: acc.courses ? acc.detected / acc.courses : 0,
        statistical: {
          rate: acc.courses ? acc.statistical / acc.courses : 0,
          overToleranceRate: acc.over ? acc.statisticalOver / acc.over : null,
        },
        medianDelay: median(acc.delays),
        overTolerance: {
          courses: acc.over,
          detected: acc.overDetected,
          rate: acc.over ? acc.overDetected / acc.over : null,
          long: {
            courses: acc.long,
            detected: acc.longDetected,
            rate: acc.long ? acc.longDetected / acc.long : null,
          },
        },
        maxEffect: { dosePercent: acc.dose, geometryMm: acc.geometry },
        preOnsetAlarms: acc.preOnset,
        firstAlarms: acc.first,
        malice: {
          patients: acc.malice.length,
          median: median(acc.malice),
          atLeastHalf: acc.malice.length ? acc.malice.filter((p) => p >= 0.5).length / acc.malice.length : 0,
          suspectedCourses: acc.affectedCourses ? acc.suspectedCourses / acc.affectedCourses : 0,
          raisedCourses: acc.affectedCourses ? acc.raisedCourses / acc.affectedCourses : 0,
        },
      });
    }
  }
  return {
    variants,
    clean: {
      courses: cleanCourses,
      alarmed: cleanAlarmed,
      rate: cleanCourses ? cleanAlarmed / cleanCourses : 0,
      patients: cleanPatients.length,
      maliceAtLeastHalf: cleanPatients.length ? cleanMalice / cleanPatients.length : 0,
    },
    tolerance: o.tolerance,
    powerPoints: o.powerPoints,
    applicationsPerVariant: o.applicationsPerVariant,
    seed: o.seed,
  };
}

interface ReplayedCourse {
  readonly key: string;
  readonly patientId: number;
  readonly fractions: number;
  /** 1-based fraction of the course at which the attack starts. */
  readonly onset: number;
  /** Distinct (field version, offset) pairs the fractions from the onset were delivered with. */
  readonly pointsFromOnset: number;
  readonly alarms: readonly CourseAlarm[];
  readonly effect: CourseEffect;
}

/**
 * The affected patients' records before and after `changes` (only their rows are assembled), then
 * replayed as a monitor would have seen them; one entry per affected course.
 */
function replayAttack(
  cohort: Cohort,
  changes: readonly Change[],
  clean: LongitudinalTracker,
  tracking: TrackerOptionsInput | undefined,
): { tracker: LongitudinalTracker; courses: ReplayedCourse[] } {
  const impact = impactOf(cohort, changes);
  const patients = new Set<number>();
  for (const id of impact.affectedTtxIds) {
    const before = cohort.record(id)?.treatment.Pat_ID1;
    if (typeof before === 'number') patients.add(before);
  }
  for (const c of changes) {
    if (c.table !== 'TrackTreatment') continue;
    const p =
      c.kind === 'update'
        ? c.column === 'Pat_ID1'
          ? c.newValue
          : null
        : c.kind === 'insert'
          ? c.row.Pat_ID1
          : null;
    if (typeof p === 'number') patients.add(p);
  }
  const rows = rowsOfPatients(cohort, patients, changes);
  const before = new Map(assembleRecords(rows).map((r) => [r.treatment.TTX_ID, r]));
  const afterList = assembleRecords(applyChanges(rows, changes));
  const after = new Map(afterList.map((r) => [r.treatment.TTX_ID, r]));
  const affected = new Set(impact.affectedTtxIds);
  const own = treatmentsWithOwnRowsChanged(cohort, changes);

  // Onset per course: the first affected fraction whose own rows changed, else the first affected one.
  const onsetTime = new Map<string, number>();
  const ownOnset = new Map<string, number>();
  for (const r of [...afterList].sort(byTime)) {
    if (!affected.has(r.treatment.TTX_ID) || !isCourseDelivery(r)) continue;
    const key = courseKeyOf(r)!;
    const t = r.treatment.Create_DtTm!.getTime();
    if (!onsetTime.has(key)) onsetTime.set(key, t);
    if (own.has(r.treatment.TTX_ID) && !ownOnset.has(key)) ownOnset.set(key, t);
  }
  for (const [key, t] of ownOnset) onsetTime.set(key, t);

  // Every record of a course with an onset (its QA-mode verification too) is seen clean before it.
  const view: TreatmentRecord[] = [];
  for (const [id, r] of after) {
    const key = courseKeyOf(before.get(id) ?? r);
    const start = key === null ? undefined : onsetTime.get(key);
    const t = r.treatment.Create_DtTm?.getTime() ?? Number.POSITIVE_INFINITY;
    const corrupted = affected.has(id) && (start === undefined || t >= start);
    view.push(corrupted ? r : (before.get(id) ?? r));
  }
  const tracker = new LongitudinalTracker(tracking ?? {}, { noiseFrom: clean });
  for (const r of view.sort(byTime)) tracker.observe(r);

  const out: ReplayedCourse[] = [];
  for (const [key, t] of onsetTime) {
    const course = tracker.course(key);
    if (!course) continue;
    const onset = course.fractions.findIndex((f) => f.time >= t) + 1;
    if (onset === 0) continue;
    const fractions = course.fractions.map((f) => ({
      clean: before.get(f.ttxId) ?? null,
      corrupted: after.get(f.ttxId)!,
    }));
    out.push({
      key,
      patientId: course.patientId,
      fractions: course.fractions.length,
      onset,
      pointsFromOnset: pointsOf(fractions.slice(onset - 1).map((f) => f.corrupted)),
      alarms: course.alarms,
      effect: courseEffect(fractions),
    });
  }
  return { tracker, courses: out };
}

/** The distinct (field version, offset) pairs of a course's fractions: the points a trend test on them sees. */
function pointsOf(fractions: readonly TreatmentRecord[]): number {
  return new Set(fractions.map((r) => `${r.treatment.FLD_ID}:${r.offset?.OFF_ID ?? ''}`)).size;
}

/** Every row behind the patients' records, plus every row a change updates or deletes. */
function rowsOfPatients(
  cohort: Cohort,
  patients: ReadonlySet<number>,
  changes: readonly Change[],
): TableRows {
  const out = emptyTableRows();
  const seen = new Map<TableName, Set<number>>();
  const add = <T extends TableName>(table: T, row: TableRows[T][number] | undefined) => {
    if (!row) return;
    const pk = (row as Record<string, unknown>)[MOSAIQ_TABLES[table].primaryKey] as number;
    let s = seen.get(table);
    if (!s) {
      s = new Set();
      seen.set(table, s);
    }
    if (s.has(pk)) return;
    s.add(pk);
    (out[table] as unknown[]).push(row);
  };
  for (const p of patients) {
    add('Patient', cohort.row('Patient', p));
    for (const i of cohort.rowsWhere('Ident', 'Pat_Id1', p)) add('Ident', i);
    for (const t of cohort.treatmentsOf('Pat_ID1', p)) add('TrackTreatment', t);
    for (const d of cohort.rowsWhere('Dose_Hst', 'Pat_ID1', p)) add('Dose_Hst', d);
    for (const f of cohort.fieldsOfPatient(p)) add('TxField', f);
    for (const s of cohort.rowsWhere('Site', 'Pat_ID1', p)) add('Site', s);
  }
  for (const t of out.TrackTreatment) {
    if (t.FLD_ID !== null) add('TxField', cohort.row('TxField', t.FLD_ID));
    if (t.SIT_ID !== null) add('Site', cohort.row('Site', t.SIT_ID));
  }
  for (const f of out.TxField) for (const p of cohort.pointsOfField(f.FLD_ID)) add('TxFieldPoint', p);
  const siteSets = new Set<number>();
  for (const s of out.Site) if (s.SIT_SET_ID !== null) siteSets.add(s.SIT_SET_ID);
  for (const f of out.TxField) if (f.SIT_Set_ID !== null) siteSets.add(f.SIT_Set_ID);
  for (const set of siteSets) for (const o of cohort.rowsWhere('Offset', 'SIT_SET_ID', set)) add('Offset', o);
  for (const s of cohort.rows.Staff) add('Staff', s);
  for (const c of changes) if (c.kind !== 'insert') add(c.table, cohort.row(c.table, c.key) as never);
  return out;
}
