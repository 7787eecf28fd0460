import { ValidationError } from '@anomalia/core';
import {
  assembleRecords,
  MOSAIQ_TABLES,
  orderControlPoints,
  type Row,
  recordsToRows,
  TABLE_NAMES,
  type TableName,
  type TableRows,
  type TrackTreatmentRow,
  type TreatmentRecord,
  type TxFieldPointRow,
  type TxFieldRow,
} from '@anomalia/mosaiq';

/**
 * The records a failure mode may touch plus every table row behind them, indexed. Cross-record
 * modes need it: a duplicate needs the patient's other fields and free keys, an orphan needs to
 * know that an id really dangles, and the plan needs to know which other treatments share a
 * field. Build one with `createCohort(records)` (or from table rows) and treat it as immutable:
 * failure modes only read it and return changes.
 */
export interface Cohort {
  readonly records: readonly TreatmentRecord[];
  readonly rows: Readonly<TableRows>;
  /** The record of a TrackTreatment row, if it is in the cohort. */
  record(ttxId: number): TreatmentRecord | undefined;
  /** A row by primary key. */
  row<T extends TableName>(table: T, key: number): Row<T> | undefined;
  /** TrackTreatment rows referring to a field / site / patient / machine / Dose_Hst row. */
  treatmentsOf(
    column: 'FLD_ID' | 'SIT_ID' | 'Pat_ID1' | 'Machine_ID_Staff_ID' | 'DHS_ID',
    id: number,
  ): readonly TrackTreatmentRow[];
  /** TrackTreatment rows whose offsets come from a site set (through their Site, else their TxField). */
  treatmentsOfSiteSet(siteSetId: number): readonly TrackTreatmentRow[];
  /** TxField rows of a patient. */
  fieldsOfPatient(patId: number): readonly TxFieldRow[];
  /** TxFieldPoint rows of a field, ordered like a record's control points. */
  pointsOfField(fldId: number): readonly TxFieldPointRow[];
  /** Rows of `table` whose `column` equals `value` (built on first use, then cached). */
  rowsWhere<T extends TableName>(table: T, column: string, value: number): readonly Row<T>[];
  /** The latest timestamp anywhere in the cohort (TrackTreatment, Dose_Hst, Offset), or null. */
  readonly latestTimestamp: Date | null;
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * A cohort from records (their rows are collected with `recordsToRows`) or from table rows (the
 * records are assembled with `assembleRecords`; rows no record refers to still count, e.g. for
 * key allocation and dangling checks).
 */
export function createCohort(input: readonly TreatmentRecord[] | TableRows): Cohort {
  let records: readonly TreatmentRecord[];
  let rows: TableRows;
  if (Array.isArray(input)) {
    input.forEach((r, i) => {
      if (!r || typeof r !== 'object' || !('treatment' in r) || !Array.isArray(r.controlPoints)) {
        throw new ValidationError(`records[${i}]`, 'a TreatmentRecord (treatment, controlPoints, ...)', r);
      }
    });
    records = input;
    rows = recordsToRows(input);
  } else if (input && typeof input === 'object') {
    const missing = TABLE_NAMES.filter((t) => !Array.isArray((input as TableRows)[t]));
    if (missing.length > 0) {
      throw new ValidationError(
        `rows.${missing[0]}`,
        'an array of rows (every Mosaiq table, possibly empty)',
      );
    }
    rows = input as TableRows;
    records = assembleRecords(rows);
  } else {
    throw new ValidationError('cohort', 'an array of TreatmentRecords or TableRows', input);
  }

  const byTtx = new Map<number, TreatmentRecord>();
  for (const r of records) if (!byTtx.has(r.treatment.TTX_ID)) byTtx.set(r.treatment.TTX_ID, r);

  const keyIndex = new Map<TableName, Map<number, Record<string, unknown>>>();
  const keysOf = (table: TableName) => {
    let m = keyIndex.get(table);
    if (!m) {
      m = new Map();
      const pk = MOSAIQ_TABLES[table].primaryKey;
      for (const r of rows[table] as Record<string, unknown>[]) {
        const k = r[pk] as number;
        if (!m.has(k)) m.set(k, r);
      }
      keyIndex.set(table, m);
    }
    return m;
  };

  const columnIndex = new Map<string, Map<number, unknown[]>>();
  const rowsWhere = <T extends TableName>(table: T, column: string, value: number): readonly Row<T>[] => {
    const name = `${table}.${column}`;
    let m = columnIndex.get(name);
    if (!m) {
      m = new Map();
      for (const r of rows[table] as Record<string, unknown>[]) {
        const v = r[column];
        if (typeof v !== 'number') continue;
        const list = m.get(v);
        if (list) list.push(r);
        else m.set(v, [r]);
      }
      columnIndex.set(name, m);
    }
    return (m.get(value) as Row<T>[] | undefined) ?? EMPTY;
  };

  let bySiteSet: Map<number, TrackTreatmentRow[]> | null = null;
  const pointsCache = new Map<number, readonly TxFieldPointRow[]>();

  let latest = Number.NEGATIVE_INFINITY;
  const see = (d: Date | null) => {
    if (d && d.getTime() > latest) latest = d.getTime();
  };
  for (const t of rows.TrackTreatment) {
    see(t.Create_DtTm);
    see(t.Edit_DtTm);
  }
  for (const d of rows.Dose_Hst) see(d.Tx_DtTm);
  for (const o of rows.Offset) see(o.Study_DtTm);

  return Object.freeze({
    records,
    rows,
    record: (ttxId: number) => byTtx.get(ttxId),
    row: <T extends TableName>(table: T, key: number) => keysOf(table).get(key) as Row<T> | undefined,
    treatmentsOf: (column, id) => rowsWhere('TrackTreatment', column, id),
    treatmentsOfSiteSet: (siteSetId: number) => {
      if (!bySiteSet) {
        bySiteSet = new Map();
        for (const r of records) {
          const set = r.site?.SIT_SET_ID ?? r.field?.SIT_Set_ID ?? null;
          if (set === null) continue;
          const list = bySiteSet.get(set);
          if (list) list.push(r.treatment);
          else bySiteSet.set(set, [r.treatment]);
        }
      }
      return bySiteSet.get(siteSetId) ?? EMPTY;
    },
    fieldsOfPatient: (patId: number) => rowsWhere('TxField', 'Pat_ID1', patId),
    pointsOfField: (fldId: number) => {
      let p = pointsCache.get(fldId);
      if (!p) {
        p = orderControlPoints(rowsWhere('TxFieldPoint', 'FLD_ID', fldId));
        pointsCache.set(fldId, p);
      }
      return p;
    },
    rowsWhere,
    latestTimestamp: Number.isFinite(latest) ? new Date(latest) : null,
  } satisfies Cohort);
}
