import type { TreatmentRecord } from '@anomalia/mosaiq';
import { isCourseDelivery } from './snapshot';

/**
 * What each TrackTreatment row and each field version of a clinic contributes to the series of a
 * machine (TrackTreatment.Machine_ID_Staff_ID) and of a staff member (Staff_ID, Create_ID,
 * Edit_ID of the row; Edit_ID of a field version). Every event carries the time it happened and
 * the groups it is attributed to; `records` events (a row, attributed to its machine and to who
 * logged it: Staff_ID, Create_ID) are the workload the rates are taken over.
 */
export type GroupSeriesKind =
  | 'records'
  | 'late_edits'
  | 'planned_edits'
  | 'planned_edits_after_delivery'
  | 'audit_anomalies'
  | 'flagged';

/** Every kind, `records` (the exposure) first. */
export const GROUP_SERIES_KINDS: readonly GroupSeriesKind[] = [
  'records',
  'late_edits',
  'planned_edits',
  'planned_edits_after_delivery',
  'audit_anomalies',
  'flagged',
];

export interface GroupEvent {
  readonly kind: GroupSeriesKind;
  /** When it happened (ms). */
  readonly time: number;
  /** TrackTreatment.Machine_ID_Staff_ID (of the row, or of the field version), null when unknown. */
  readonly machine: number | null;
  /** Staff ids it is attributed to (distinct). */
  readonly staff: readonly number[];
  readonly patientId: number | null;
}

export interface GroupEventOptions {
  /** A row whose Edit_DtTm is more than this after its Create_DtTm was edited after the beam (min). */
  readonly lateEditMinutes: number;
  /** TTX_IDs an alert or detector flagged (counted as `flagged`). */
  readonly flagged?: ReadonlySet<number>;
}

const distinct = (ids: readonly (number | null)[]): number[] => [
  ...new Set(ids.filter((v): v is number => v !== null)),
];

/** The audit anomalies of one TrackTreatment row (and the version it delivered). */
function auditAnomaly(r: TreatmentRecord): boolean {
  const t = r.treatment;
  if (t.Create_ID === null || t.Edit_ID === null) return true;
  if (t.Create_DtTm !== null && t.Edit_DtTm !== null && t.Edit_DtTm < t.Create_DtTm) return true;
  const f = r.field;
  return f !== null && f.Version !== null && f.Version !== 0 && (f.Edit_DtTm === null || f.Edit_ID === null);
}

/** The row's own events: its exposure, a late edit, an audit anomaly, a flag. */
function rowEvents(r: TreatmentRecord, o: GroupEventOptions, out: GroupEvent[]): void {
  const t = r.treatment;
  if (t.Create_DtTm === null) return;
  const time = t.Create_DtTm.getTime();
  const machine = t.Machine_ID_Staff_ID;
  const patientId = t.Pat_ID1;
  const everyone = distinct([t.Staff_ID, t.Create_ID, t.Edit_ID]);
  // A row is the workload of who logged it; a later editor's edit is an event, not workload.
  out.push({ kind: 'records', time, machine, staff: distinct([t.Staff_ID, t.Create_ID]), patientId });
  const edited = t.Edit_DtTm?.getTime();
  if (edited !== undefined && edited - time > o.lateEditMinutes * 60_000) {
    out.push({ kind: 'late_edits', time: edited, machine, staff: distinct([t.Edit_ID]), patientId });
  }
  // A row without its audit ids names nobody but the therapist who logged it.
  if (auditAnomaly(r)) {
    out.push({ kind: 'audit_anomalies', time, machine, staff: distinct([t.Staff_ID]), patientId });
  }
  if (o.flagged?.has(t.TTX_ID)) out.push({ kind: 'flagged', time, machine, staff: everyone, patientId });
}

interface Version {
  editedAt: number;
  editor: number | null;
  fieldSet: number;
  machine: number | null;
  patientId: number | null;
}

/**
 * The last edit of a field version: the later of TxField.Edit_DtTm and its control points'. Its
 * editor is TxField.Edit_ID when the field row carries the last edit; TxFieldPoint has no editor
 * column, so an edit of the control points alone is the machine's but nobody's.
 */
function lastEdit(r: TreatmentRecord): { at: number; editor: number | null } | null {
  const f = r.field;
  const fieldAt = f?.Edit_DtTm?.getTime() ?? Number.NaN;
  let at = fieldAt;
  for (const p of r.controlPoints) {
    const e = p.Edit_DtTm?.getTime();
    if (e !== undefined && !(e <= at)) at = e;
  }
  if (Number.isNaN(at)) return null;
  return { at, editor: at === fieldAt ? (f?.Edit_ID ?? null) : null };
}

/**
 * Every event of a clinic's records, in no particular order. Field versions are counted once
 * each (by FLD_ID), at their last edit, as `planned_edits`, and also as
 * `planned_edits_after_delivery` when a fraction of the same field (TxField.FLD_SET_ID) had
 * already been delivered by then.
 */
export function groupEventsOf(records: readonly TreatmentRecord[], o: GroupEventOptions): GroupEvent[] {
  const out: GroupEvent[] = [];
  const versions = new Map<number, Version>();
  const firstDelivery = new Map<number, number>();
  for (const r of records) {
    rowEvents(r, o, out);
    const t = r.treatment;
    if (t.FLD_ID === null) continue;
    const fieldSet = r.field?.FLD_SET_ID ?? t.FLD_ID;
    if (isCourseDelivery(r)) {
      const time = t.Create_DtTm!.getTime();
      if (!(time >= (firstDelivery.get(fieldSet) ?? Number.POSITIVE_INFINITY)))
        firstDelivery.set(fieldSet, time);
    }
    if (r.field === null || versions.has(t.FLD_ID)) continue;
    const edit = lastEdit(r);
    if (edit === null) continue;
    versions.set(t.FLD_ID, {
      editedAt: edit.at,
      editor: edit.editor,
      fieldSet,
      machine: r.field.Machine_ID_Staff_ID ?? t.Machine_ID_Staff_ID,
      patientId: t.Pat_ID1,
    });
  }
  for (const v of versions.values()) {
    const staff = distinct([v.editor]);
    const base = { time: v.editedAt, machine: v.machine, staff, patientId: v.patientId };
    out.push({ kind: 'planned_edits', ...base });
    const delivered = firstDelivery.get(v.fieldSet);
    if (delivered !== undefined && v.editedAt > delivered)
      out.push({ kind: 'planned_edits_after_delivery', ...base });
  }
  return out;
}
