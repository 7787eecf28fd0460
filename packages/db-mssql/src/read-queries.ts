import { ValidationError } from '@anomalia/core';
import {
  decodeTreatmentCursor,
  MOSAIQ_TABLES,
  TABLE_NAMES,
  type TableName,
  type TrackTreatmentRow,
  type TreatmentQuery,
} from '@anomalia/mosaiq';
import { ROW_VERSION_COLUMN } from './column-types';
import {
  chunk,
  DATETIME,
  INT,
  inList,
  MAX_IN_LIST,
  MAX_PARAMS,
  Params,
  qualified,
  quoteName,
  ROWVERSION,
  type Statement,
} from './statement';

/**
 * The T-SQL of the reader: pure functions from a request to a Statement, so the text can be
 * parsed and snapshotted without a server. Nothing here uses a table hint: the isolation level
 * is the session's (see the `isolation` setting).
 */

export const SUMMARY_COLUMNS = [
  'TTX_ID',
  'Pat_ID1',
  'FLD_ID',
  'SIT_ID',
  'Machine_ID_Staff_ID',
  'Create_DtTm',
  'Edit_DtTm',
  'WasQAMode',
  'WasBeamComplete',
] as const satisfies readonly (keyof TrackTreatmentRow)[];

export const columnsOf = (table: TableName): string[] => Object.keys(MOSAIQ_TABLES[table].columns);
const selectList = (columns: readonly string[], alias = '') =>
  columns.map((c) => `${alias}${quoteName(c)}`).join(', ');

/** Which tables exist: one row, a column per table, NULL for a missing one. */
export function objectIdsStatement(tables: readonly { schema: string; table: string }[]): Statement {
  const items = tables.map(
    ({ schema, table }) =>
      `OBJECT_ID(N'${qualified(schema, table).replace(/'/g, "''")}', N'U') AS ${quoteName(`${schema}.${table}`)}`,
  );
  return { sql: `SELECT ${items.join(', ')};`, params: [] };
}

/** No rows, only the declared columns of each table (the driver reports types, lengths, scales). */
export function columnProbeStatement(tables: readonly { schema: string; table: string }[]): Statement {
  return {
    sql: tables.map(({ schema, table }) => `SELECT TOP (0) * FROM ${qualified(schema, table)};`).join('\n'),
    params: [],
  };
}

/** All filter values of one listing share one request: SQL Server takes at most 2100 parameters. */
export const MAX_FILTER_IDS = MAX_PARAMS - 10;

/** A page of TrackTreatment rows in (Create_DtTm, TTX_ID) order; one row more than the page says whether another follows. */
export function listTreatmentsStatement(schema: string, q: TreatmentQuery): Statement {
  const params = new Params();
  const where = [
    `[Create_DtTm] >= ${params.add(DATETIME, q.from)}`,
    `[Create_DtTm] < ${params.add(DATETIME, q.to)}`,
  ];
  if (q.cursor !== null) {
    const c = decodeTreatmentCursor(q.cursor);
    const at = params.add(DATETIME, c.createdAt);
    where.push(
      `([Create_DtTm] > ${at} OR ([Create_DtTm] = ${at} AND [TTX_ID] > ${params.add(INT, c.ttxId)}))`,
    );
  }
  const filters: [string, keyof TrackTreatmentRow, number[] | undefined][] = [
    ['machineIds', 'Machine_ID_Staff_ID', q.machineIds],
    ['patientIds', 'Pat_ID1', q.patientIds],
    ['fieldIds', 'FLD_ID', q.fieldIds],
  ];
  const total = filters.reduce((n, [, , ids]) => n + (ids ? new Set(ids).size : 0), 0);
  if (total > MAX_FILTER_IDS) {
    const field = filters.find(([, , ids]) => ids && ids.length > 0)![0];
    throw new ValidationError(
      `query.${field}`,
      `at most ${MAX_FILTER_IDS} ids over machineIds, patientIds and fieldIds together (SQL Server's parameter limit); query in smaller groups`,
      `${total} ids`,
    );
  }
  for (const [, column, ids] of filters) {
    if (!ids) continue;
    const lists = chunk([...new Set(ids)]).map((c) => `${quoteName(column)} IN ${inList(params, c)}`);
    where.push(lists.length === 1 ? lists[0]! : `(${lists.join(' OR ')})`);
  }
  if (q.completedOnly) where.push('[WasBeamComplete] = 1');
  // NULL counts as "not QA" (as in db-sqlite's `IS NOT 1`).
  if (q.qaMode === 'exclude') where.push('([WasQAMode] IS NULL OR [WasQAMode] = 0)');
  if (q.qaMode === 'only') where.push('[WasQAMode] = 1');
  return {
    sql:
      `SELECT TOP (${q.pageSize + 1}) ${selectList(SUMMARY_COLUMNS)} FROM ${qualified(schema, 'TrackTreatment')} ` +
      `WHERE ${where.join(' AND ')} ORDER BY [Create_DtTm], [TTX_ID];`,
    params: params.list,
  };
}

/**
 * Changed TrackTreatment rows after `since`, below MIN_ACTIVE_ROWVERSION(): a version at or above
 * it may belong to a transaction still in flight, which could commit after later versions, so
 * the cursor never passes it. The bound is taken first, in its own statement, so every row below
 * it has committed before the SELECT starts (under any isolation). The second result set is the
 * bound itself: the safe point when no more rows wait.
 */
export function changesStatement(schema: string, since: bigint, limit: number): Statement {
  const params = new Params();
  const after = params.add(ROWVERSION, versionBytes(since));
  return {
    sql:
      'DECLARE @safe binary(8) = MIN_ACTIVE_ROWVERSION();\n' +
      `SELECT TOP (${limit + 1}) ${selectList(SUMMARY_COLUMNS)}, ${quoteName(ROW_VERSION_COLUMN)} ` +
      `FROM ${qualified(schema, 'TrackTreatment')} ` +
      `WHERE ${quoteName(ROW_VERSION_COLUMN)} > ${after} AND ${quoteName(ROW_VERSION_COLUMN)} < @safe ` +
      `ORDER BY ${quoteName(ROW_VERSION_COLUMN)};\n` +
      'SELECT @safe AS [safe];',
    params: params.list,
  };
}

/** The database's lowest row version that may still commit. */
export function safePointStatement(): Statement {
  return { sql: 'SELECT MIN_ACTIVE_ROWVERSION() AS [safe];', params: [] };
}

/** A row version as SQL Server's binary(8): big-endian. */
export function versionBytes(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

/** The highest primary key (NULL when empty) of every table, in one row. */
export function maxKeysStatement(schema: string): Statement {
  const items = TABLE_NAMES.map(
    (t) =>
      `(SELECT MAX(${quoteName(MOSAIQ_TABLES[t].primaryKey)}) FROM ${qualified(schema, t)}) AS ${quoteName(t)}`,
  );
  return { sql: `SELECT ${items.join(', ')};`, params: [] };
}

/** Rows per table, in one row. */
export function countsStatement(schema: string): Statement {
  const items = TABLE_NAMES.map((t) => `(SELECT COUNT(*) FROM ${qualified(schema, t)}) AS ${quoteName(t)}`);
  return { sql: `SELECT ${items.join(', ')};`, params: [] };
}

// ---------- loadRecords ----------

/** One SELECT of a batch: which table its rows are, and the statement text using the unit's parameters. */
export interface LookupSelect {
  table: TableName;
  sql: string;
}

/** SELECTs sharing one id list (and its parameters), e.g. Patient and Ident by patient ids. */
export interface LookupUnit {
  selects: LookupSelect[];
  params: Params;
}

/** A request: several units' SELECTs in one batch, their parameters renamed to not collide. */
export interface LookupRequest {
  statement: Statement;
  tables: TableName[];
}

function unit(ids: readonly number[], build: (list: string, params: Params) => LookupSelect[]): LookupUnit {
  const params = new Params();
  const list = inList(params, ids);
  return { selects: build(list, params), params };
}

/** Phase one of loadRecords: the TrackTreatment rows of the ids. */
export function treatmentUnits(schema: string, ids: readonly number[]): LookupUnit[] {
  return chunk(ids).map((c) =>
    unit(c, (list) => [
      {
        table: 'TrackTreatment',
        sql: `SELECT ${selectList(columnsOf('TrackTreatment'))} FROM ${qualified(schema, 'TrackTreatment')} WHERE [TTX_ID] IN ${list};`,
      },
    ]),
  );
}

/** What phase two looks up, from the TrackTreatment rows of phase one. */
export interface DependentIds {
  fieldIds: number[];
  siteIds: number[];
  patientIds: number[];
  machineIds: number[];
  doseIds: number[];
  /** Patients of rows without DHS_ID whose Dose_Hst row is matched by time, and the time range to search. */
  doseWindow: { patientIds: number[]; from: Date; to: Date } | null;
}

/**
 * Phase two: every other table, by the ids phase one found. TxField, TxFieldPoint and the Offset
 * rows of the fields' site sets share the field ids; Site and the Offset rows of the sites' site
 * sets share the site ids; Patient and Ident share the patient ids; Staff the machine ids; Dose_Hst
 * the DHS_IDs, plus the rows of the same patients within the time window (`matchDoseHistory`
 * chooses among them, so a superset is harmless). Offset: Version 0 only, as `selectOffsets` uses.
 */
export function dependentUnits(schema: string, ids: DependentIds): LookupUnit[] {
  const t = (table: TableName) => qualified(schema, table);
  const sel = (table: TableName, where: string): LookupSelect => ({
    table,
    sql: `SELECT ${selectList(columnsOf(table))} FROM ${t(table)} WHERE ${where};`,
  });
  const units: LookupUnit[] = [];
  for (const c of chunk(ids.fieldIds)) {
    units.push(
      unit(c, (list) => [
        sel('TxField', `[FLD_ID] IN ${list}`),
        sel('TxFieldPoint', `[FLD_ID] IN ${list}`),
        sel(
          'Offset',
          `[Version] = 0 AND [SIT_SET_ID] IN (SELECT [SIT_Set_ID] FROM ${t('TxField')} WHERE [FLD_ID] IN ${list})`,
        ),
      ]),
    );
  }
  for (const c of chunk(ids.siteIds)) {
    units.push(
      unit(c, (list) => [
        sel('Site', `[SIT_ID] IN ${list}`),
        sel(
          'Offset',
          `[Version] = 0 AND [SIT_SET_ID] IN (SELECT [SIT_SET_ID] FROM ${t('Site')} WHERE [SIT_ID] IN ${list})`,
        ),
      ]),
    );
  }
  for (const c of chunk(ids.patientIds)) {
    units.push(
      unit(c, (list) => [sel('Patient', `[Pat_ID1] IN ${list}`), sel('Ident', `[Pat_Id1] IN ${list}`)]),
    );
  }
  for (const c of chunk(ids.machineIds))
    units.push(unit(c, (list) => [sel('Staff', `[Staff_ID] IN ${list}`)]));
  for (const c of chunk(ids.doseIds)) units.push(unit(c, (list) => [sel('Dose_Hst', `[DHS_ID] IN ${list}`)]));
  const w = ids.doseWindow;
  if (w) {
    for (const c of chunk(w.patientIds, MAX_IN_LIST - 2)) {
      units.push(
        unit(c, (list, params) => {
          const from = params.add(DATETIME, w.from);
          const to = params.add(DATETIME, w.to);
          return [sel('Dose_Hst', `[Pat_ID1] IN ${list} AND [Tx_DtTm] >= ${from} AND [Tx_DtTm] <= ${to}`)];
        }),
      );
    }
  }
  return units;
}

/**
 * Packs units into as few requests as SQL Server's parameter limit allows (MAX_PARAMS each),
 * renaming each unit's `@pN` so they do not collide within a request.
 */
export function packUnits(units: readonly LookupUnit[]): LookupRequest[] {
  const requests: LookupRequest[] = [];
  let current: { sql: string[]; params: Params; tables: TableName[] } | null = null;
  for (const u of units) {
    if (current === null || current.params.size + u.params.size > MAX_PARAMS) {
      if (current) requests.push(finish(current));
      current = { sql: [], params: new Params(), tables: [] };
    }
    const offset = current.params.size;
    for (const p of u.params.list) current.params.add(p.type, p.value);
    const rename = (sql: string) => sql.replace(/@p(\d+)\b/g, (_, n: string) => `@p${Number(n) + offset}`);
    for (const s of u.selects) {
      current.sql.push(rename(s.sql));
      current.tables.push(s.table);
    }
  }
  if (current) requests.push(finish(current));
  return requests;
}

function finish(r: { sql: string[]; params: Params; tables: TableName[] }): LookupRequest {
  return { statement: { sql: r.sql.join('\n'), params: r.params.list }, tables: r.tables };
}
