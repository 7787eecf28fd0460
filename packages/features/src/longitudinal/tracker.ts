import type { TreatmentRecord } from '@anomalia/mosaiq';
import { type CourseAlarm, CourseState, compare, NoiseModel } from './course';
import { L, LONGITUDINAL_COLS, LONGITUDINAL_FEATURES, slog } from './definitions';
import { parseTrackerOptions, type TrackerOptions, type TrackerOptionsInput } from './options';
import { deviation, PARAMETER_INDEX as P, SERIES_PARAMETERS } from './parameters';
import {
  courseKeyOf,
  type FractionSnapshot,
  isCourseDelivery,
  isVerification,
  leafFacts,
  type SnapshotBook,
  takeSnapshot,
} from './snapshot';
import { parseTrackerState, snapshotFromJSON, snapshotToJSON, type TrackerState } from './state';

/** What the tracker says about one record. */
export interface Observation {
  readonly ttxId: number;
  /** Patient × field set, or null for a record without patient, field or time. */
  readonly courseKey: string | null;
  /** Whether the record is a delivered fraction (and so part of its course). */
  readonly delivery: boolean;
  /** 1-based position of the record in its course (deliveries), else null. */
  readonly fraction: number | null;
  /** The longitudinal features (`LONGITUDINAL_FEATURES` order). */
  readonly features: Float64Array;
  /** 1 where a feature's inputs were missing (its documented missing value is written). */
  readonly missing: Uint8Array;
  /** Alarms this record raised in its course (empty for `peek` and for non-deliveries). */
  readonly alarms: readonly CourseAlarm[];
}

const MIN_OTHER_FIELDS = 3;
/** Features computed from the record alone (written even without a course). */
const RECORD_LEVEL = new Set([
  'edit_by_other_user',
  'row_audit_ids_missing',
  'field_version_audit_missing',
  'field_version_archived',
  'field_editor_unusual',
]);
const IMAGING_KEPT = 8;
/** A course whose last (up to) DAILY_RUN fractions each had a localization offset at most FRESH_HOURS old images daily. */
const DAILY_RUN = 5;
const FRESH_HOURS = 2;
const STALE_HOURS = 12;
/** Offset_Type 2: localization (a CBCT match). */
const LOCALIZATION = 2;
/** An imaging delivery this long before a fraction belongs to its session. */
const SESSION_MS = 3 * 3_600_000;
/** An offset acquired up to this long before the session's images is still the session's. */
const IMAGING_SLACK_MS = 3_600_000;
const MEDIAN_WINDOW = 20;

/** The median of `values` (sorted in place), NaN when empty. */
function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = values.sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Values collected for one median at a time (features are written one record at a time). */
const scratch: number[] = [];

/** Writes feature j's documented missing value and marks it missing. */
function miss(x: Float64Array, m: Uint8Array, j: number): void {
  x[j] = LONGITUDINAL_FEATURES[j]!.missingValue;
  m[j] = 1;
}

/** Writes v to feature j, or its missing value when v is not finite. */
function put(x: Float64Array, m: Uint8Array, j: number, v: number): void {
  if (!Number.isFinite(v)) miss(x, m, j);
  else x[j] = v;
}

/** Columns from `leaf_count_vs_machine` on that need a course (missing for a record without one). */
const COURSE_LEVEL_COLUMNS: readonly number[] = LONGITUDINAL_FEATURES.map((f, j) => ({ f, j }))
  .filter(({ f, j }) => j >= L.leaf_count_vs_machine! && !RECORD_LEVEL.has(f.name))
  .map(({ j }) => j);
const JAWS = [P.jaw_x1, P.jaw_x2, P.jaw_y1, P.jaw_y2] as const;
const OFFSET_AXES = [P.offset_superior, P.offset_anterior, P.offset_lateral] as const;

/**
 * The earlier fractions' offsets other than `own`, one per offset (its latest fraction), in the
 * order the offsets first appear.
 */
function distinctOffsets(earlier: readonly FractionSnapshot[], own: number | null): FractionSnapshot[] {
  const out: FractionSnapshot[] = [];
  for (const f of earlier) {
    if (f.offsetId === null || f.offsetId === own) continue;
    let k = 0;
    while (k < out.length && out[k]!.offsetId !== f.offsetId) k++;
    out[k] = f;
  }
  return out;
}

/**
 * Follows every course of a clinic fraction by fraction: `observe(record)` adds a delivered
 * fraction to its course (patient × field set, in delivery order), updates that course's CUSUM
 * and trend tests, and returns the record's longitudinal features and the alarms it raised.
 * It also keeps what cross-course features need: each machine's fields (their leaf counts) and
 * each patient's courses. This is the streaming form the monitor calls per new treatment; the
 * batch extractor (`extractQaLongitudinal`) feeds history and batch through the same object, so
 * both give the same numbers. State survives restarts with `toJSON` / `LongitudinalTracker.fromJSON`.
 */
export class LongitudinalTracker {
  readonly options: Readonly<TrackerOptions>;
  private readonly courseMap = new Map<string, CourseState>();
  /** QA-mode verifications of courses that have not started yet. */
  private readonly verifications = new Map<string, FractionSnapshot>();
  private readonly noise: NoiseModel;
  private readonly patientCourses = new Map<number, Set<string>>();
  /** machine → field set → declared leaf count (latest seen), and machine → leaf count → fields. */
  private readonly machineLeaves = new Map<number, Map<number, number>>();
  private readonly machineCounts = new Map<number, Map<number, number>>();
  /** Staff who log treatments (TrackTreatment.Staff_ID), and staff → field sets they last edited. */
  private readonly treatingStaff = new Set<number>();
  private readonly fieldEditors = new Map<number, Set<number>>();
  /** patient → times of their latest imaging-field deliveries (ms, ascending, a few kept). */
  private readonly imagingTimes = new Map<number, number[]>();

  /** Where records are snapshotted (null: afresh each time). */
  private readonly snapshots: SnapshotBook | null;
  /** TTX_IDs fed to `observe` or `track` (a caller feeding history skips those already seen). */
  private readonly fed = new Set<number>();

  /**
   * `noiseFrom`: start with another tracker's pooled set-up noise (e.g. the clinic's, when a few
   * patients are replayed on their own) instead of none; that tracker is not changed.
   * `snapshots`: a book shared with other trackers over the same records (see `SnapshotBook`).
   */
  constructor(
    options: TrackerOptionsInput = {},
    context: { noiseFrom?: LongitudinalTracker; snapshots?: SnapshotBook } = {},
  ) {
    this.options = Object.freeze(parseTrackerOptions(options, 'tracker'));
    this.noise = context.noiseFrom ? context.noiseFrom.noise.clone() : new NoiseModel();
    this.snapshots = context.snapshots ?? null;
  }

  private snapshot(record: TreatmentRecord): FractionSnapshot | null {
    return this.snapshots ? this.snapshots.of(record) : takeSnapshot(record);
  }

  /** Number of courses followed. */
  get size(): number {
    return this.courseMap.size;
  }

  /** Whether a record with this TTX_ID was observed or tracked (any version of it). */
  knows(ttxId: number): boolean {
    return this.fed.has(ttxId);
  }

  /** Records observed or tracked, each counted once however many versions were fed. */
  get recordsSeen(): number {
    return this.fed.size;
  }

  courses(): IterableIterator<CourseState> {
    return this.courseMap.values();
  }

  course(key: string): CourseState | undefined {
    return this.courseMap.get(key);
  }

  /** The patient's courses, in the order they were first seen (cost: the patient's courses only). */
  coursesOfPatient(patientId: number): CourseState[] {
    const out: CourseState[] = [];
    for (const key of this.patientCourses.get(patientId) ?? []) out.push(this.courseMap.get(key)!);
    return out;
  }

  courseOf(record: TreatmentRecord): CourseState | undefined {
    const key = courseKeyOf(record);
    return key === null ? undefined : this.courseMap.get(key);
  }

  /** Every alarm of every course, in course order then fraction order. */
  alarms(): CourseAlarm[] {
    const out: CourseAlarm[] = [];
    for (const c of this.courseMap.values()) out.push(...c.alarms);
    return out;
  }

  /**
   * Observes a record: a delivered fraction joins its course (a record seen before, e.g. edited
   * later, replaces its earlier snapshot) and may raise alarms; any other record only gets its
   * features against the course as it stands.
   */
  observe(record: TreatmentRecord): Observation {
    this.fed.add(record.treatment.TTX_ID);
    if (!isCourseDelivery(record)) {
      if (isVerification(record)) this.verifyWith(this.snapshot(record)!);
      return this.peek(record);
    }
    const s = this.snapshot(record)!;
    const existing = this.courseMap.get(courseKeyOf(record)!);
    const position = existing ? this.positionOf(existing, s) : 0;
    const previous = existing && position > 0 ? existing.fractions[position - 1]! : null;
    const earlier = existing ? this.earlierThan(existing, s, position) : [];
    const machineLeaves = this.machineMode(s);
    const { course, alarms } = this.ingest(s);
    const fraction = course.fractions.indexOf(s) + 1;
    const out = this.writeFeatures(record, s, course, previous, earlier, machineLeaves, fraction - 1);
    return {
      ttxId: record.treatment.TTX_ID,
      courseKey: course.key,
      delivery: true,
      fraction,
      ...out,
      alarms,
    };
  }

  /**
   * `observe` without the features: the record joins its course (or verifies it) and the alarms
   * it raised are returned. For a monitor that needs the courses and their evidence but not the
   * feature row (writing it is about a fifth of `observe`'s cost).
   */
  track(record: TreatmentRecord): readonly CourseAlarm[] {
    this.fed.add(record.treatment.TTX_ID);
    if (!isCourseDelivery(record)) {
      if (isVerification(record)) this.verifyWith(this.snapshot(record)!);
      return [];
    }
    return this.ingest(this.snapshot(record)!).alarms;
  }

  /** A QA-mode verification: the reference of its course (kept until the course starts). */
  private verifyWith(s: FractionSnapshot): CourseAlarm[] {
    const key = `${s.patientId}|${s.fieldSetId}`;
    const course = this.courseMap.get(key);
    if (course) return course.verify(s);
    const pending = this.verifications.get(key);
    if (!pending || compare(pending, s) < 0) this.verifications.set(key, s);
    return [];
  }

  /** Adds a delivered fraction's snapshot to its course and to the machine and patient context. */
  private ingest(s: FractionSnapshot): { course: CourseState; alarms: CourseAlarm[] } {
    const key = `${s.patientId}|${s.fieldSetId}`;
    let course = this.courseMap.get(key);
    if (!course) {
      course = new CourseState(key, s.patientId, s.fieldSetId, this.options, this.noise);
      const pending = this.verifications.get(key);
      if (pending) {
        course.verify(pending);
        this.verifications.delete(key);
      }
      this.courseMap.set(key, course);
      let set = this.patientCourses.get(s.patientId);
      if (!set) {
        set = new Set();
        this.patientCourses.set(s.patientId, set);
      }
      set.add(key);
    }
    const alarms = course.add(s);
    if (s.machineId !== null && !Number.isNaN(s.declaredLeaves)) {
      let fields = this.machineLeaves.get(s.machineId);
      let counts = this.machineCounts.get(s.machineId);
      if (!fields || !counts) {
        fields = new Map();
        counts = new Map();
        this.machineLeaves.set(s.machineId, fields);
        this.machineCounts.set(s.machineId, counts);
      }
      const old = fields.get(s.fieldSetId);
      if (old !== s.declaredLeaves) {
        if (old !== undefined) counts.set(old, counts.get(old)! - 1);
        counts.set(s.declaredLeaves, (counts.get(s.declaredLeaves) ?? 0) + 1);
        fields.set(s.fieldSetId, s.declaredLeaves);
      }
    }
    if (s.staffId !== null) this.treatingStaff.add(s.staffId);
    if (s.fieldEditorId !== null) {
      const sets = this.fieldEditors.get(s.fieldEditorId) ?? new Set<number>();
      sets.add(s.fieldSetId);
      this.fieldEditors.set(s.fieldEditorId, sets);
    }
    if (s.imaging) {
      const times = this.imagingTimes.get(s.patientId) ?? [];
      times.push(s.time);
      times.sort((a, b) => a - b);
      if (times.length > IMAGING_KEPT) times.shift();
      this.imagingTimes.set(s.patientId, times);
    }
    return { course, alarms };
  }

  private earlierThan(course: CourseState, s: FractionSnapshot, position: number): FractionSnapshot[] {
    return course.fractions
      .slice(Math.max(0, position - MEDIAN_WINDOW), position)
      .filter((f) => f.ttxId !== s.ttxId);
  }

  /**
   * The tracker's state as plain JSON (the options and every course's fraction snapshots), for a
   * monitor to persist between runs. `fromJSON` rebuilds every statistic from it.
   */
  toJSON(): TrackerState {
    const fractions: FractionSnapshot[] = [];
    const verifications: FractionSnapshot[] = [...this.verifications.values()];
    for (const c of this.courseMap.values()) {
      fractions.push(...c.fractions);
      if (c.verification) verifications.push(c.verification);
    }
    fractions.sort(compare);
    verifications.sort(compare);
    return {
      version: 1,
      options: { ...this.options },
      verifications: verifications.map(snapshotToJSON),
      fractions: fractions.map(snapshotToJSON),
    };
  }

  /** A tracker from `toJSON`'s output, validated (a bad state names the field). */
  static fromJSON(state: unknown): LongitudinalTracker {
    const parsed = parseTrackerState(state);
    const tracker = new LongitudinalTracker(parsed.options);
    for (const v of parsed.verifications.map(snapshotFromJSON)) {
      tracker.verifyWith(v);
      tracker.fed.add(v.ttxId);
    }
    const snapshots = parsed.fractions.map(snapshotFromJSON).sort(compare);
    for (const s of snapshots) {
      tracker.ingest(s);
      tracker.fed.add(s.ttxId);
    }
    return tracker;
  }

  /** The record's features against the current state, changing nothing. */
  peek(record: TreatmentRecord): Observation {
    const s = this.snapshot(record);
    const key = courseKeyOf(record);
    const course = key === null ? undefined : this.courseMap.get(key);
    let previous: FractionSnapshot | null = null;
    let earlier: FractionSnapshot[] = [];
    let index = 0;
    if (s && course) {
      const position = this.positionOf(course, s);
      previous = position > 0 ? course.fractions[position - 1]! : null;
      earlier = this.earlierThan(course, s, position);
      index = position;
    }
    const out = this.writeFeatures(
      record,
      s,
      course ?? null,
      previous,
      earlier,
      s ? this.machineMode(s) : null,
      index,
    );
    return {
      ttxId: record.treatment.TTX_ID,
      courseKey: key,
      delivery: false,
      fraction: null,
      ...out,
      alarms: [],
    };
  }

  /**
   * Whether `editorId`, as the last editor of field set `fieldSetId`, is unusual: someone the
   * clinic sees logging treatments who edited no other field.
   */
  isUnusualEditor(editorId: number, fieldSetId: number): boolean {
    if (!this.treatingStaff.has(editorId)) return false;
    for (const set of this.fieldEditors.get(editorId) ?? []) if (set !== fieldSetId) return false;
    return true;
  }

  /** Fractions of the course before `s` in delivery order (itself excluded if seen before). */
  private positionOf(course: CourseState, s: FractionSnapshot): number {
    const f = course.fractions;
    let n = f.length;
    while (n > 0 && compare(f[n - 1]!, s) >= 0) n--;
    return n;
  }

  /** The leaf count most of the machine's other fields declare, when at least 3 were seen. */
  private machineMode(s: FractionSnapshot): number | null {
    if (s.machineId === null) return null;
    const fields = this.machineLeaves.get(s.machineId);
    const counts = this.machineCounts.get(s.machineId);
    if (!fields || !counts) return null;
    const own = fields.get(s.fieldSetId);
    const others = fields.size - (own === undefined ? 0 : 1);
    if (others < MIN_OTHER_FIELDS) return null;
    let best = Number.NaN;
    let bestCount = -1;
    for (const [leaves, total] of counts) {
      const c = total - (leaves === own ? 1 : 0);
      if (c > bestCount || (c === bestCount && leaves < best)) {
        best = leaves;
        bestCount = c;
      }
    }
    return best;
  }

  private writeFeatures(
    record: TreatmentRecord,
    s: FractionSnapshot | null,
    course: CourseState | null,
    previous: FractionSnapshot | null,
    earlier: readonly FractionSnapshot[],
    machineLeaves: number | null,
    fractionIndex: number,
  ): { features: Float64Array; missing: Uint8Array } {
    const x = new Float64Array(LONGITUDINAL_COLS);
    const m = new Uint8Array(LONGITUDINAL_COLS);
    const t = record.treatment;
    x[L.create_dtm_null!] = t.Create_DtTm === null ? 1 : 0;
    x[L.edit_dtm_null!] = t.Edit_DtTm === null ? 1 : 0;
    if (t.Create_ID === null || t.Edit_ID === null) miss(x, m, L.edit_by_other_user!);
    else x[L.edit_by_other_user!] = t.Create_ID !== t.Edit_ID ? 1 : 0;
    x[L.row_audit_ids_missing!] = t.Create_ID === null || t.Edit_ID === null ? 1 : 0;
    const f = record.field;
    if (f === null) miss(x, m, L.field_version_audit_missing!);
    else
      x[L.field_version_audit_missing!] =
        f.Version !== null && f.Version !== 0 && (f.Edit_DtTm === null || f.Edit_ID === null) ? 1 : 0;
    if (f === null || f.Version === null) miss(x, m, L.field_version_archived!);
    else x[L.field_version_archived!] = f.Version !== 0 ? 1 : 0;
    if (f === null || f.Edit_ID === null) miss(x, m, L.field_editor_unusual!);
    else x[L.field_editor_unusual!] = this.isUnusualEditor(f.Edit_ID, f.FLD_SET_ID ?? f.FLD_ID) ? 1 : 0;
    if (record.controlPoints.length > 0) {
      const leaves = leafFacts(record);
      x[L.negative_gap_present!] = leaves.negativeGaps > 0 ? 1 : 0;
      x[L.zero_leaf_pairs!] = leaves.zeroLeafPairs;
    } else {
      miss(x, m, L.negative_gap_present!);
      miss(x, m, L.zero_leaf_pairs!);
    }
    if (!s) {
      for (const j of COURSE_LEVEL_COLUMNS) miss(x, m, j);
      return { features: x, missing: m };
    }
    if (machineLeaves === null || Number.isNaN(s.declaredLeaves)) miss(x, m, L.leaf_count_vs_machine!);
    else x[L.leaf_count_vs_machine!] = s.declaredLeaves !== machineLeaves ? 1 : 0;
    x[L.course_fraction_index!] = fractionIndex;

    const ref = course?.reference ?? null;
    const reference = ref !== null && ref.ttxId !== s.ttxId ? ref : null;
    const dev = (j: number) =>
      reference === null ? Number.NaN : deviation(SERIES_PARAMETERS[j]!, s.values[j]!, reference.values[j]!);
    put(x, m, L.meterset_change_pct!, slog(dev(P.meterset)));
    put(x, m, L.dose_per_fraction_change_pct!, slog(dev(P.dose_per_fraction)));
    put(x, m, L.mu_per_cp_max_change_pct!, slog(dev(P.mu_per_cp_max)));
    put(x, m, L.cp_count_change!, dev(P.cp_count));
    put(x, m, L.gantry_change_deg!, Math.abs(dev(P.gantry_mean)));
    put(x, m, L.coll_change_deg!, Math.abs(dev(P.coll_mean)));
    let jaw = Number.NaN;
    for (const j of JAWS) {
      const d = Math.abs(dev(j)) * 10;
      if (!Number.isNaN(d)) jaw = Number.isNaN(jaw) ? d : Math.max(jaw, d);
    }
    put(x, m, L.jaw_max_change_mm!, jaw);
    put(x, m, L.aperture_change_pct!, slog(dev(P.aperture)));
    put(x, m, L.aperture_centroid_shift_mm!, Math.abs(dev(P.aperture_centroid_x)) * 10);
    put(x, m, L.leaf_count_change!, Math.abs(dev(P.leaf_count)));
    if (reference === null) {
      miss(x, m, L.field_changed_since_reference!);
      miss(x, m, L.field_edited_after_first_delivery!);
      miss(x, m, L.field_version_predates_use!);
    } else {
      let predates = 0;
      for (const e of earlier) {
        if (e.fieldId !== s.fieldId && s.fieldEditedAt < e.time) {
          predates = 1;
          break;
        }
      }
      x[L.field_version_predates_use!] = predates;
      x[L.field_changed_since_reference!] =
        s.fingerprint !== reference.fingerprint || s.fieldId !== reference.fieldId ? 1 : 0;
      x[L.field_edited_after_first_delivery!] = s.fieldEditedAt > reference.time ? 1 : 0;
    }

    // Offsets: against the course's earlier distinct offsets (the latest fraction of each).
    const offsets = distinctOffsets(earlier, s.offsetId);
    if (s.offsetId === null || offsets.length === 0) miss(x, m, L.offset_shift_vs_course_cm!);
    else {
      let d2 = 0;
      for (const a of OFFSET_AXES) {
        scratch.length = 0;
        for (const o of offsets) {
          const v = o.values[a]!;
          if (!Number.isNaN(v)) scratch.push(v);
        }
        const med = median(scratch);
        const v = s.values[a]!;
        if (!Number.isNaN(med) && !Number.isNaN(v)) d2 += (v - med) ** 2;
      }
      x[L.offset_shift_vs_course_cm!] = Math.sqrt(d2);
    }
    if (previous === null || Number.isNaN(previous.offsetStudy) || Number.isNaN(s.offsetStudy))
      miss(x, m, L.offset_older_than_previous!);
    else x[L.offset_older_than_previous!] = s.offsetStudy < previous.offsetStudy ? 1 : 0;
    if (previous === null) miss(x, m, L.offset_lost!);
    else x[L.offset_lost!] = s.offsetId === null && previous.offsetId !== null ? 1 : 0;
    if (earlier.length === 0) miss(x, m, L.offset_stale_in_daily_course!);
    else {
      // Localization offsets (CBCT) acquired just before every recent fraction: daily imaging.
      let daily = true;
      for (let i = Math.max(0, earlier.length - DAILY_RUN); i < earlier.length && daily; i++) {
        const e = earlier[i]!;
        daily = e.offsetType === LOCALIZATION && e.offsetAgeHours >= -1 && e.offsetAgeHours <= FRESH_HOURS;
      }
      const stale = Number.isNaN(s.offsetAgeHours) || s.offsetAgeHours > STALE_HOURS;
      x[L.offset_stale_in_daily_course!] = daily && stale ? 1 : 0;
    }
    let imagedAt = Number.NaN;
    for (const t of this.imagingTimes.get(s.patientId) ?? []) {
      if (t <= s.time && t >= s.time - SESSION_MS) imagedAt = t;
    }
    if (s.imaging || Number.isNaN(imagedAt)) miss(x, m, L.offset_predates_imaging!);
    else
      x[L.offset_predates_imaging!] =
        Number.isNaN(s.offsetStudy) || s.offsetStudy < imagedAt - IMAGING_SLACK_MS ? 1 : 0;
    scratch.length = 0;
    for (const e of earlier) if (e.durationSeconds > 0) scratch.push(e.durationSeconds);
    if (!(s.durationSeconds > 0) || scratch.length === 0) miss(x, m, L.duration_vs_course_log_ratio!);
    else x[L.duration_vs_course_log_ratio!] = Math.log(s.durationSeconds / median(scratch));

    if (course) {
      x[L.course_cusum_max!] = slog(course.maxCusum());
      x[L.course_trend_z_max!] = course.maxTrendZ();
      x[L.course_alarm_count!] = course.alarmedParameters();
    }
    if (reference === null) miss(x, m, L.cumulative_dose_change_pct!);
    else x[L.cumulative_dose_change_pct!] = slog(course!.cumulativeDoseChange);
    let changed = 0;
    for (const key of this.patientCourses.get(s.patientId) ?? []) {
      if (course && key === course.key) continue;
      if (this.courseMap.get(key)?.changed) changed++;
    }
    x[L.patient_courses_changed!] = changed;
    return { features: x, missing: m };
  }
}
