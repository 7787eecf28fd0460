import { ValidationError } from '@anomalia/core';
import {
  applyChanges,
  assembleRecords,
  type Change,
  type ColumnValue,
  emptyTableRows,
  type TableName,
  type TableRows,
  type TrackTreatmentRow,
  type TreatmentRecord,
} from '@anomalia/mosaiq';
import type { Cohort } from './cohort';

/** Which TrackTreatment rows a set of changes alters, computed exactly (see `impactOf`). */
export interface Impact {
  /** Rows whose TreatmentRecord differs after the changes (inserted rows included), ascending. */
  readonly affectedTtxIds: readonly number[];
  /** Rows the changes delete. */
  readonly removedTtxIds: readonly number[];
  /** FLD_IDs of the affected records, before and after (ascending). */
  readonly fieldIds: readonly number[];
}

type AnyRow = Record<string, ColumnValue>;
/** Ids the rows after the changes refer to, beyond those of the candidate treatments. */
type Extra = Record<'fld' | 'sit' | 'pat' | 'set' | 'staff' | 'dhs', Set<number>>;

/** Values a change gives `column` before and after (both when it updates that column). */
function columnValues(change: Change, current: AnyRow | undefined, column: string): ColumnValue[] {
  if (change.kind === 'update') {
    const old = current?.[column] ?? null;
    return change.column === column ? [old, change.newValue] : [old];
  }
  return [change.row[column] ?? null];
}

const numbers = (values: ColumnValue[]): number[] => values.filter((v): v is number => typeof v === 'number');

/**
 * The records a set of changes alters, exactly: the candidate TrackTreatment rows (those that
 * refer to a changed row) are assembled with `assembleRecords` from the cohort's rows before and
 * after `applyChanges`, and a record counts as affected when any of its joined rows differs.
 * This is how the plan labels every treatment of a field whose control points were corrupted,
 * and every treatment of a session whose offset was. Only the candidates' rows are assembled,
 * so the cost is proportional to the footprint of the changes, not to the cohort.
 */
export function impactOf(cohort: Cohort, changes: readonly Change[]): Impact {
  const candidates = new Set<TrackTreatmentRow>();
  const inserted: TrackTreatmentRow[] = [];
  const extra: Extra = {
    fld: new Set(),
    sit: new Set(),
    pat: new Set(),
    set: new Set(),
    staff: new Set(),
    dhs: new Set(),
  };
  const touched = new Map<TableName, Set<AnyRow>>();
  const addAll = (rows: readonly TrackTreatmentRow[]) => {
    for (const r of rows) candidates.add(r);
  };

  changes.forEach((change, i) => {
    const current =
      change.kind === 'insert' ? undefined : (cohort.row(change.table, change.key) as AnyRow | undefined);
    if (change.kind !== 'insert') {
      if (!current) {
        throw new ValidationError(
          `changes[${i}].key`,
          `the key of a ${change.table} row in the cohort`,
          change.key,
        );
      }
      const set = touched.get(change.table) ?? new Set<AnyRow>();
      touched.set(change.table, set);
      set.add(current);
    }
    const values = (column: string) => numbers(columnValues(change, current, column));
    switch (change.table) {
      case 'TrackTreatment':
        if (change.kind === 'insert') inserted.push(change.row as unknown as TrackTreatmentRow);
        else candidates.add(current as unknown as TrackTreatmentRow);
        for (const f of values('FLD_ID')) extra.fld.add(f);
        for (const s of values('SIT_ID')) extra.sit.add(s);
        for (const p of values('Pat_ID1')) extra.pat.add(p);
        for (const m of values('Machine_ID_Staff_ID')) extra.staff.add(m);
        for (const d of values('DHS_ID')) extra.dhs.add(d);
        break;
      case 'TxField':
        addAll(cohort.treatmentsOf('FLD_ID', change.key));
        for (const s of values('SIT_Set_ID')) extra.set.add(s);
        break;
      case 'TxFieldPoint':
        for (const f of values('FLD_ID')) {
          addAll(cohort.treatmentsOf('FLD_ID', f));
          extra.fld.add(f);
        }
        break;
      case 'Site':
        addAll(cohort.treatmentsOf('SIT_ID', change.key));
        for (const s of values('SIT_SET_ID')) extra.set.add(s);
        break;
      case 'Patient':
        addAll(cohort.treatmentsOf('Pat_ID1', change.key));
        break;
      case 'Ident':
        for (const p of values('Pat_Id1')) addAll(cohort.treatmentsOf('Pat_ID1', p));
        break;
      case 'Staff':
        addAll(cohort.treatmentsOf('Machine_ID_Staff_ID', change.key));
        break;
      case 'Dose_Hst':
        addAll(cohort.treatmentsOf('DHS_ID', change.key));
        for (const p of values('Pat_ID1')) {
          addAll(cohort.treatmentsOf('Pat_ID1', p).filter((t) => t.DHS_ID === null));
          extra.pat.add(p);
        }
        break;
      case 'Offset':
        for (const s of values('SIT_SET_ID')) {
          addAll(cohort.treatmentsOfSiteSet(s));
          extra.set.add(s);
        }
        break;
    }
  });

  const before = gatherRows(cohort, [...candidates], inserted, extra, touched);
  const after = applyChanges(before, changes);
  const recordsBefore = new Map(assembleRecords(before).map((r) => [r.treatment.TTX_ID, r]));
  const affected = new Set<number>();
  const removed: number[] = [];
  const fieldIds = new Set<number>();
  const afterIds = new Set<number>();
  for (const r of assembleRecords(after)) {
    const id = r.treatment.TTX_ID;
    afterIds.add(id);
    const old = recordsBefore.get(id);
    if (!old || !sameRecord(old, r)) {
      affected.add(id);
      if (r.treatment.FLD_ID !== null) fieldIds.add(r.treatment.FLD_ID);
      if (old?.treatment.FLD_ID != null) fieldIds.add(old.treatment.FLD_ID);
    }
  }
  for (const id of recordsBefore.keys()) if (!afterIds.has(id)) removed.push(id);
  const asc = (a: number, b: number) => a - b;
  return {
    affectedTtxIds: [...affected].sort(asc),
    removedTtxIds: removed.sort(asc),
    fieldIds: [...fieldIds].sort(asc),
  };
}

/** The rows `assembleRecords` consults for these TrackTreatment rows, plus the touched rows. */
function gatherRows(
  cohort: Cohort,
  treatments: readonly TrackTreatmentRow[],
  inserted: readonly TrackTreatmentRow[],
  extra: Extra,
  touched: Map<TableName, Set<AnyRow>>,
): TableRows {
  const fld = new Set(extra.fld);
  const sit = new Set(extra.sit);
  const pat = new Set(extra.pat);
  const staff = new Set(extra.staff);
  const dhs = new Set(extra.dhs);
  for (const t of [...treatments, ...inserted]) {
    if (t.FLD_ID !== null) fld.add(t.FLD_ID);
    if (t.SIT_ID !== null) sit.add(t.SIT_ID);
    if (t.Pat_ID1 !== null) pat.add(t.Pat_ID1);
    if (t.Machine_ID_Staff_ID !== null) staff.add(t.Machine_ID_Staff_ID);
    if (t.DHS_ID !== null) dhs.add(t.DHS_ID);
  }
  const out = emptyTableRows();
  const seen = new Map<TableName, Set<unknown>>();
  const add = (table: TableName, row: unknown) => {
    if (row === undefined) return;
    const s = seen.get(table) ?? new Set<unknown>();
    seen.set(table, s);
    if (s.has(row)) return;
    s.add(row);
    (out[table] as unknown[]).push(row);
  };
  for (const t of treatments) add('TrackTreatment', t);
  const sets = new Set(extra.set);
  for (const f of fld) {
    const field = cohort.row('TxField', f);
    add('TxField', field);
    if (field?.SIT_Set_ID != null) sets.add(field.SIT_Set_ID);
    for (const p of cohort.rowsWhere('TxFieldPoint', 'FLD_ID', f)) add('TxFieldPoint', p);
  }
  for (const s of sit) {
    const site = cohort.row('Site', s);
    add('Site', site);
    if (site?.SIT_SET_ID != null) sets.add(site.SIT_SET_ID);
  }
  for (const p of pat) {
    add('Patient', cohort.row('Patient', p));
    for (const i of cohort.rowsWhere('Ident', 'Pat_Id1', p)) add('Ident', i);
    for (const d of cohort.rowsWhere('Dose_Hst', 'Pat_ID1', p)) add('Dose_Hst', d);
  }
  for (const m of staff) add('Staff', cohort.row('Staff', m));
  for (const d of dhs) add('Dose_Hst', cohort.row('Dose_Hst', d));
  for (const s of sets) for (const o of cohort.rowsWhere('Offset', 'SIT_SET_ID', s)) add('Offset', o);
  for (const [table, rows] of touched) for (const r of rows) add(table, r);
  return out;
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Two records built from rows that share unchanged row objects: equal when every joined row is the same object. */
function sameRecord(a: TreatmentRecord, b: TreatmentRecord): boolean {
  return (
    a.treatment === b.treatment &&
    a.field === b.field &&
    a.site === b.site &&
    a.patient === b.patient &&
    a.ident === b.ident &&
    a.machine === b.machine &&
    a.doseHistory === b.doseHistory &&
    a.offset === b.offset &&
    sameList(a.controlPoints, b.controlPoints) &&
    sameList(a.sessionOffsets, b.sessionOffsets)
  );
}
