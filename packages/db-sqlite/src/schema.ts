import { MOSAIQ_TABLES, type SqlType, TABLE_NAMES, type TableName } from '@anomalia/mosaiq';
import type Database from 'better-sqlite3';
import {
  CHANGE_TRACKED_TABLE,
  changeTrackingSql,
  hasChangeTracking,
  ROW_VERSION_COLUMN,
  ROW_VERSION_INDEX_SQL,
} from './change-tracking';
import { SQLITE_STORAGE } from './sqlite-types';
import { quote } from './table-codec';

/**
 * The Mosaiq-shaped schema: the real table and column names of MOSAIQ_TABLES, one STRICT table
 * each, the integer primary key as SQLite's rowid (`INTEGER PRIMARY KEY`), every other column
 * nullable as in Mosaiq. Types follow SQLITE_STORAGE.
 */
export function createTableSql(table: TableName): string {
  const { primaryKey, columns } = MOSAIQ_TABLES[table];
  const defs = (Object.entries(columns) as [string, SqlType][]).map(([name, type]) =>
    name === primaryKey
      ? `  ${quote(name)} INTEGER PRIMARY KEY NOT NULL`
      : `  ${quote(name)} ${SQLITE_STORAGE[type]}`,
  );
  if (table === CHANGE_TRACKED_TABLE) defs.push(`  ${quote(ROW_VERSION_COLUMN)} BLOB`);
  return `CREATE TABLE ${quote(table)} (\n${defs.join(',\n')}\n) STRICT`;
}

/**
 * Indexes the reader needs: TrackTreatment windows and keyset pages on (Create_DtTm, TTX_ID),
 * also within one machine, patient or field; control points, idents, dose history and offsets
 * by the columns `loadRecords` looks them up with.
 */
export const INDEXES: readonly { name: string; table: TableName; columns: readonly string[] }[] = [
  { name: 'IX_TrackTreatment_Create', table: 'TrackTreatment', columns: ['Create_DtTm', 'TTX_ID'] },
  {
    name: 'IX_TrackTreatment_Machine',
    table: 'TrackTreatment',
    columns: ['Machine_ID_Staff_ID', 'Create_DtTm', 'TTX_ID'],
  },
  {
    name: 'IX_TrackTreatment_Patient',
    table: 'TrackTreatment',
    columns: ['Pat_ID1', 'Create_DtTm', 'TTX_ID'],
  },
  { name: 'IX_TrackTreatment_Field', table: 'TrackTreatment', columns: ['FLD_ID', 'Create_DtTm', 'TTX_ID'] },
  { name: 'IX_TxFieldPoint_Field', table: 'TxFieldPoint', columns: ['FLD_ID'] },
  { name: 'IX_Ident_Patient', table: 'Ident', columns: ['Pat_Id1'] },
  { name: 'IX_Dose_Hst_Patient_Field', table: 'Dose_Hst', columns: ['Pat_ID1', 'FLD_ID', 'Tx_DtTm'] },
  { name: 'IX_Offset_SiteSet', table: 'Offset', columns: ['SIT_SET_ID'] },
];

export function createIndexSql(index: (typeof INDEXES)[number]): string {
  return `CREATE INDEX IF NOT EXISTS ${quote(index.name)} ON ${quote(index.table)} (${index.columns.map(quote).join(', ')})`;
}

/**
 * Creates the nine tables with change tracking (and, unless `indexes: false`, their indexes) in
 * one transaction.
 */
export function createSchema(db: Database.Database, options: { indexes?: boolean } = {}): void {
  db.transaction(() => {
    for (const table of TABLE_NAMES) db.exec(createTableSql(table));
    for (const sql of changeTrackingSql()) db.exec(sql);
    if (options.indexes !== false) createIndexes(db);
  })();
}

/** The reader's indexes, and the change cursor's when the database tracks changes. */
export function createIndexes(db: Database.Database): void {
  for (const index of INDEXES) db.exec(createIndexSql(index));
  if (hasChangeTracking(db)) db.exec(ROW_VERSION_INDEX_SQL);
}

interface ColumnInfo {
  name: string;
  type: string;
  pk: number;
}

/** What is wrong with a database's Mosaiq tables (empty when nothing is). */
export function schemaProblems(db: Database.Database, options: { exact?: boolean } = {}): string[] {
  const problems: string[] = [];
  // The reader concatenates leaf-set blobs as text, byte for byte only in a UTF-8 database.
  const encoding = db.pragma('encoding', { simple: true }) as string;
  if (encoding !== 'UTF-8') problems.push(`the database encoding is ${encoding}, expected UTF-8`);
  for (const table of TABLE_NAMES) {
    const info = db.prepare(`PRAGMA table_info(${quote(table)})`).all() as ColumnInfo[];
    if (info.length === 0) {
      problems.push(`table ${table} is missing`);
      continue;
    }
    const byName = new Map(info.map((c) => [c.name, c]));
    const { primaryKey, columns } = MOSAIQ_TABLES[table];
    for (const [name, type] of Object.entries(columns) as [string, SqlType][]) {
      const c = byName.get(name);
      if (!c) problems.push(`${table}.${name} is missing`);
      else if (c.type.toUpperCase() !== SQLITE_STORAGE[type])
        problems.push(`${table}.${name} is ${c.type || 'untyped'}, expected ${SQLITE_STORAGE[type]}`);
      else if ((name === primaryKey) !== (c.pk === 1))
        problems.push(
          `${table}.${name}: ${name === primaryKey ? 'should be' : 'should not be'} the primary key`,
        );
    }
    if (options.exact) {
      for (const c of info) {
        const tracking = table === CHANGE_TRACKED_TABLE && c.name === ROW_VERSION_COLUMN;
        if (!(c.name in columns) && !tracking)
          problems.push(`${table}.${c.name} is not a column Anomalia knows`);
      }
    }
  }
  return problems;
}

/** Throws when the database lacks the Mosaiq schema (or, with `exact`, has more columns). */
export function assertSchema(
  db: Database.Database,
  database: string,
  options: { exact?: boolean } = {},
): void {
  const problems = schemaProblems(db, options);
  if (problems.length > 0) {
    throw new SchemaError(database, problems);
  }
}

/** A database without the Mosaiq tables and columns this package reads and writes. */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  constructor(
    readonly database: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${database}: not a Mosaiq database of @anomalia/db-sqlite: ${problems.slice(0, 5).join('; ')}${
        problems.length > 5 ? `; and ${problems.length - 5} more` : ''
      }`,
    );
  }
}
