import type { OffsetRow, TreatmentRecord, TxFieldPointRow } from '@anomalia/mosaiq';
import { courseKeyOf, isCourseDelivery } from './snapshot';

/**
 * Test helpers (not exported by the package): the courses of a set of records and attacks written
 * the way Mosaiq holds a per-fraction change, as a new TxField version that the fraction names.
 */

/** Deliveries grouped by course, each in delivery order. */
export function coursesOf(records: readonly TreatmentRecord[]): Map<string, TreatmentRecord[]> {
  const out = new Map<string, TreatmentRecord[]>();
  for (const r of records) {
    if (!isCourseDelivery(r)) continue;
    const key = courseKeyOf(r)!;
    const list = out.get(key) ?? [];
    list.push(r);
    out.set(key, list);
  }
  for (const list of out.values())
    list.sort(
      (a, b) =>
        a.treatment.Create_DtTm!.getTime() - b.treatment.Create_DtTm!.getTime() ||
        a.treatment.TTX_ID - b.treatment.TTX_ID,
    );
  return out;
}

/** The longest treatment course (positive meterset, not an imaging field) with at least `min` fractions. */
export function longCourse(records: readonly TreatmentRecord[], min = 20): TreatmentRecord[] {
  const candidates = [...coursesOf(records).values()].filter(
    (c) => c.length >= min && (c[0]!.field?.Meterset ?? 0) > 0 && c[0]!.field?.Type_Enum !== 6,
  );
  candidates.sort((a, b) => b.length - a.length || a[0]!.treatment.TTX_ID - b[0]!.treatment.TTX_ID);
  const course = candidates[0];
  if (!course) throw new Error(`no course with ${min} fractions`);
  return course;
}

let nextId = 9_000_000;

/**
 * The record delivered with a new version of its field: a new FLD_ID of the same FLD_SET_ID, its
 * meterset and control points changed by `edit`, edited (Edit_DtTm) an hour before the fraction.
 */
export function versioned(
  r: TreatmentRecord,
  edit: { meterset?: (mu: number) => number; point?: (p: TxFieldPointRow) => Partial<TxFieldPointRow> },
  audit: { editorId?: number | null; editedAt?: Date | null } = {},
): TreatmentRecord {
  const field = r.field!;
  const fldId = nextId++;
  const editedAt =
    audit.editedAt === undefined ? new Date(r.treatment.Create_DtTm!.getTime() - 3_600_000) : audit.editedAt;
  return {
    ...r,
    treatment: { ...r.treatment, FLD_ID: fldId },
    field: {
      ...field,
      FLD_ID: fldId,
      FLD_SET_ID: field.FLD_SET_ID ?? field.FLD_ID,
      Version: 32000,
      Meterset: edit.meterset ? Math.round(edit.meterset(field.Meterset!) * 100) / 100 : field.Meterset,
      Edit_DtTm: editedAt,
      Edit_ID: audit.editorId === undefined ? field.Edit_ID : audit.editorId,
    },
    controlPoints: edit.point
      ? r.controlPoints.map((p) => ({ ...p, ...edit.point!(p), FLD_ID: fldId, TFP_ID: nextId++ }))
      : r.controlPoints,
  };
}

/**
 * The course with its set-up offsets drifting: the k-th distinct offset from `start` on (0-based)
 * moved by (k − start + 1) · `cmPerOffset` on the superior axis (new Offset rows; fractions that
 * shared an offset still share the moved one).
 */
export function driftOffsets(
  course: readonly TreatmentRecord[],
  start: number,
  cmPerOffset: number,
): TreatmentRecord[] {
  const order = new Map<number, number>();
  for (const r of course) if (r.offset && !order.has(r.offset.OFF_ID)) order.set(r.offset.OFF_ID, order.size);
  const moved = new Map<number, OffsetRow>();
  return course.map((r) => {
    const o = r.offset;
    if (!o) return r;
    const k = order.get(o.OFF_ID)!;
    if (k < start) return r;
    let row = moved.get(o.OFF_ID);
    if (!row) {
      row = {
        ...o,
        OFF_ID: o.OFF_ID + 50_000_000,
        Superior_Offset: Math.round(((o.Superior_Offset ?? 0) + (k - start + 1) * cmPerOffset) * 100) / 100,
      };
      moved.set(o.OFF_ID, row);
    }
    return { ...r, offset: row };
  });
}
