import type { TrackTreatmentRow, TreatmentRecord, TxFieldRow } from '@anomalia/mosaiq';
import type { Cohort } from '../cohort';

/**
 * Courses as a malicious mode sees them: a patient's treatment plan (the treatment fields of one
 * site set) delivered over sessions, one fraction of each field per session, in delivery order.
 *
 * A field keeps its identity across versions through TxField.FLD_SET_ID: Mosaiq keeps every
 * edit of a field as a row of its own (the current one Version 0, earlier ones 32000, 31999, …),
 * and a TrackTreatment row names the version it delivered. Series across fractions group by
 * (Pat_ID1, FLD_SET_ID), never by FLD_ID.
 */

/** TxField.Type_Enum values that deliver no treatment dose: setup, kV setup, CT, port, MV CT. */
export const NON_TREATMENT_FIELD_TYPES: ReadonlySet<number> = new Set([3, 4, 5, 6, 9]);
/** A new session starts when a patient's rows are further apart than this (pymedphys clusters Dose_Hst at 3 h). */
export const SESSION_GAP_MS = 3 * 3600_000;

/** One fraction of one field: the rows of a session that name the field (any of its versions). */
export interface Fraction {
  /** 1-based position among the field's fractions in the cohort. */
  readonly number: number;
  /** The session (1-based among the plan's sessions in the cohort). */
  readonly session: number;
  readonly start: Date;
  /** The latest Create_DtTm or Edit_DtTm of its rows. */
  readonly end: Date;
  /** Every non-QA TrackTreatment row of the session on this field (selections, beams), in time order. */
  readonly rows: readonly TrackTreatmentRow[];
  /** The field version the rows deliver (their FLD_ID). */
  readonly fieldId: number;
  /** Staff_ID of the first beam row (the therapist at the console), or null. */
  readonly staffId: number | null;
}

/** The fractions of one treatment field (all its versions) of a plan. */
export interface FieldCourse {
  /** FLD_SET_ID (FLD_ID when the set id is NULL). */
  readonly setId: number;
  readonly fractions: readonly Fraction[];
}

/** A session: one visit of the patient, with the fraction of each field delivered in it. */
export interface Session {
  readonly number: number;
  readonly start: Date;
  readonly end: Date;
  readonly fractions: readonly Fraction[];
}

/** A patient's plan: the treatment fields of one site set and the sessions they were delivered in. */
export interface PlanCourse {
  readonly patientId: number;
  readonly siteSetId: number;
  readonly fields: readonly FieldCourse[];
  readonly sessions: readonly Session[];
}

/** The field-set id of a TxField row. */
export const setIdOf = (f: Pick<TxFieldRow, 'FLD_ID' | 'FLD_SET_ID'>): number => f.FLD_SET_ID ?? f.FLD_ID;

const isBeam = (t: TrackTreatmentRow) => t.WasBeamOn !== false;

const cache = new WeakMap<Cohort, Map<string, PlanCourse | string>>();

/**
 * The plan course a record belongs to, or the reason it has none. Cached per cohort (a cohort
 * is immutable).
 */
export function planCourseOf(cohort: Cohort, record: TreatmentRecord): PlanCourse | { reason: string } {
  const field = record.field;
  if (record.treatment.WasQAMode === true) return { reason: 'the treatment is a QA-mode delivery' };
  if (field === null) return { reason: 'the treatment has no TxField row' };
  if (field.Type_Enum !== null && NON_TREATMENT_FIELD_TYPES.has(field.Type_Enum)) {
    return { reason: `field ${field.FLD_ID} is not a treatment field (Type_Enum ${field.Type_Enum})` };
  }
  const patientId = record.treatment.Pat_ID1;
  if (patientId === null) return { reason: 'the treatment has no Pat_ID1' };
  if (field.SIT_Set_ID === null) return { reason: `field ${field.FLD_ID} has no SIT_Set_ID` };
  const found = planCourse(cohort, patientId, field.SIT_Set_ID);
  return typeof found === 'string' ? { reason: found } : found;
}

/** The plan course of a patient's site set, or why there is none. */
export function planCourse(cohort: Cohort, patientId: number, siteSetId: number): PlanCourse | string {
  let byKey = cache.get(cohort);
  if (!byKey) {
    byKey = new Map();
    cache.set(cohort, byKey);
  }
  const key = `${patientId}:${siteSetId}`;
  let course = byKey.get(key);
  if (course === undefined) {
    course = buildPlanCourse(cohort, patientId, siteSetId);
    byKey.set(key, course);
  }
  return course;
}

function buildPlanCourse(cohort: Cohort, patientId: number, siteSetId: number): PlanCourse | string {
  const fields = cohort
    .fieldsOfPatient(patientId)
    .filter(
      (f) =>
        f.SIT_Set_ID === siteSetId && (f.Type_Enum === null || !NON_TREATMENT_FIELD_TYPES.has(f.Type_Enum)),
    );
  const setOf = new Map(fields.map((f) => [f.FLD_ID, setIdOf(f)]));
  const rows = cohort
    .treatmentsOf('Pat_ID1', patientId)
    .filter((t) => t.FLD_ID !== null && setOf.has(t.FLD_ID) && t.WasQAMode !== true && t.Create_DtTm !== null)
    .sort((a, b) => a.Create_DtTm!.getTime() - b.Create_DtTm!.getTime() || a.TTX_ID - b.TTX_ID);
  if (rows.length === 0)
    return `patient ${patientId} has no treatment of site set ${siteSetId} in the cohort`;

  // Sessions: rows no more than SESSION_GAP_MS apart.
  const groups: TrackTreatmentRow[][] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (const t of rows) {
    const at = t.Create_DtTm!.getTime();
    if (at - last > SESSION_GAP_MS) groups.push([]);
    groups[groups.length - 1]!.push(t);
    last = at;
  }

  const perField = new Map<number, Fraction[]>();
  const sessions: Session[] = [];
  for (const group of groups) {
    const bySet = new Map<number, TrackTreatmentRow[]>();
    for (const t of group) {
      const set = setOf.get(t.FLD_ID!)!;
      (bySet.get(set) ?? bySet.set(set, []).get(set)!).push(t);
    }
    const fractions: Fraction[] = [];
    const number = sessions.length + 1;
    for (const [set, list] of bySet) {
      // A session in which the field was only selected (no beam) is not a fraction of it.
      const beams = list.filter(isBeam);
      if (beams.length === 0) continue;
      const ids = new Set(list.map((t) => t.FLD_ID!));
      // Rows of one session naming two versions of a field: the one its beams delivered.
      const fieldId = beams[beams.length - 1]!.FLD_ID!;
      const kept = ids.size === 1 ? list : list.filter((t) => t.FLD_ID === fieldId);
      const own = perField.get(set) ?? perField.set(set, []).get(set)!;
      const fraction: Fraction = {
        number: own.length + 1,
        session: number,
        start: kept[0]!.Create_DtTm!,
        end: new Date(Math.max(...kept.map((t) => (t.Edit_DtTm ?? t.Create_DtTm!).getTime()))),
        rows: kept,
        fieldId,
        staffId: beams[0]!.Staff_ID,
      };
      own.push(fraction);
      fractions.push(fraction);
    }
    if (fractions.length === 0) continue;
    sessions.push({
      number,
      start: group[0]!.Create_DtTm!,
      end: new Date(Math.max(...fractions.map((f) => f.end.getTime()))),
      fractions,
    });
  }
  if (sessions.length === 0)
    return `patient ${patientId} has no delivered beam of site set ${siteSetId} in the cohort`;
  const fieldCourses: FieldCourse[] = [];
  for (const set of new Set(setOf.values())) {
    const fractions = sessions.flatMap((s) => s.fractions.filter((f) => setOf.get(f.fieldId) === set));
    if (fractions.length > 0) fieldCourses.push({ setId: set, fractions });
  }
  fieldCourses.sort((a, b) => a.setId - b.setId);
  return Object.freeze({ patientId, siteSetId, fields: fieldCourses, sessions });
}

/** The field course of the record's field within its plan. */
export function fieldCourseOf(plan: PlanCourse, record: TreatmentRecord): FieldCourse | undefined {
  const set = record.field ? setIdOf(record.field) : null;
  return plan.fields.find((f) => f.setId === set);
}

/** `n fraction(s)` for messages. */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Every plan course of a patient in the cohort (one per site set with delivered beams). */
export function plansOfPatient(cohort: Cohort, patientId: number): PlanCourse[] {
  const sets = new Set<number>();
  for (const t of cohort.treatmentsOf('Pat_ID1', patientId)) {
    if (t.FLD_ID === null || t.WasQAMode === true) continue;
    const f = cohort.row('TxField', t.FLD_ID);
    if (f?.SIT_Set_ID != null && (f.Type_Enum === null || !NON_TREATMENT_FIELD_TYPES.has(f.Type_Enum))) {
      sets.add(f.SIT_Set_ID);
    }
  }
  const out: PlanCourse[] = [];
  for (const s of [...sets].sort((a, b) => a - b)) {
    const p = planCourse(cohort, patientId, s);
    if (typeof p !== 'string') out.push(p);
  }
  return out;
}

const memos = new WeakMap<Cohort, Map<string, unknown>>();

/** A value computed once per cohort (cohorts are immutable) and key. */
export function memo<T>(cohort: Cohort, key: string, compute: () => T): T {
  let m = memos.get(cohort);
  if (!m) {
    m = new Map();
    memos.set(cohort, m);
  }
  if (!m.has(key)) m.set(key, compute());
  return m.get(key) as T;
}

/** Patients of the cohort with at least one treatment, ascending. */
export function patientsOf(cohort: Cohort): readonly number[] {
  return memo(cohort, 'patients', () => {
    const ids = new Set<number>();
    for (const t of cohort.rows.TrackTreatment) if (t.Pat_ID1 !== null) ids.add(t.Pat_ID1);
    return [...ids].sort((a, b) => a - b);
  });
}
