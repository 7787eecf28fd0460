import { MOSAIQ_TABLES, type SqlType, TABLE_NAMES, type TableName } from '@anomalia/mosaiq';
import type Database from 'better-sqlite3';
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
 * Change tracking, the SQLite twin of SQL Server's `rowversion`: TrackTreatment has a `RowVers`
 * column (8 bytes, big-endian, so BLOB order is version order, as in SQL Server) that triggers set
 * on every insert and update from a database-wide counter (`Anomalia_RowVersion`). SQLite runs one
 * write transaction at a time, so versions become visible in increasing order and a reader never
 * sees a version above one that is still to commit: `RowVers > watermark` skips nothing. Only the
 * triggers write RowVers; it is not a Mosaiq column of `MOSAIQ_TABLES` (records never carry it)
 * and checksums leave it out, because, as in SQL Server, any write (a restore too) gives a row a
 * new version.
 */
export const CHANGE_TRACKED_TABLE = 'TrackTreatment' satisfies TableName;
export const ROW_VERSION_COLUMN = 'RowVers';
export const ROW_VERSION_COUNTER_TABLE = 'Anomalia_RowVersion';

/** The next version as an 8-byte big-endian BLOB, after bumping the counter. */
const NEXT_VERSION = `(SELECT unhex(printf('%016X', "value")) FROM ${quote(ROW_VERSION_COUNTER_TABLE)})`;

/** The counter table, its single row, and the two triggers (run after the table exists). */
export function changeTrackingSql(): string[] {
  const t = quote(CHANGE_TRACKED_TABLE);
  const pk = quote(MOSAIQ_TABLES[CHANGE_TRACKED_TABLE].primaryKey);
  const bump = `UPDATE ${quote(ROW_VERSION_COUNTER_TABLE)} SET "value" = "value" + 1;
  UPDATE ${t} SET ${quote(ROW_VERSION_COLUMN)} = ${NEXT_VERSION} WHERE ${pk} = NEW.${pk};`;
  // Every column but RowVers: the trigger's own write of RowVers must not fire it again.
  const columns = Object.keys(MOSAIQ_TABLES[CHANGE_TRACKED_TABLE].columns).map(quote).join(', ');
  return [
    `CREATE TABLE IF NOT EXISTS ${quote(ROW_VERSION_COUNTER_TABLE)} (
  "id" INTEGER PRIMARY KEY CHECK ("id" = 1),
  "value" INTEGER NOT NULL CHECK ("value" >= 0)
) STRICT`,
    `INSERT OR IGNORE INTO ${quote(ROW_VERSION_COUNTER_TABLE)} ("id", "value") VALUES (1, 0)`,
    `CREATE TRIGGER IF NOT EXISTS "Anomalia_RowVers_Insert" AFTER INSERT ON ${t} BEGIN
  ${bump}
END`,
    `CREATE TRIGGER IF NOT EXISTS "Anomalia_RowVers_Update" AFTER UPDATE OF ${columns} ON ${t} BEGIN
  ${bump}
END`,
  ];
}

/** True when the database has the RowVers column, its counter and both triggers. */
export function hasChangeTracking(db: Database.Database): boolean {
  const column = (db.prepare(`PRAGMA table_info(${quote(CHANGE_TRACKED_TABLE)})`).all() as ColumnInfo[]).some(
    (c) => c.name === ROW_VERSION_COLUMN,
  );
  const objects = db
    .prepare(
      `SELECT count(*) FROM sqlite_master WHERE (type = 'table' AND name = ?) OR (type = 'trigger' AND name IN ('Anomalia_RowVers_Insert', 'Anomalia_RowVers_Update'))`,
    )
    .pluck()
    .get(ROW_VERSION_COUNTER_TABLE) as number;
  return column && objects === 3;
}

/**
 * Adds change tracking to a database created before it existed: the RowVers column, the counter
 * and the triggers, and a version for every existing row (in TTX_ID order), in one transaction.
 * This writes to the file: run it once, deliberately, on a database you own (a monitor's source
 * is only ever opened read-only). Does nothing when tracking is already there.
 */
export function enableChangeTracking(db: Database.Database): void {
  db.transaction(() => {
    if (hasChangeTracking(db)) return;
    const t = quote(CHANGE_TRACKED_TABLE);
    const hasColumn = (db.prepare(`PRAGMA table_info(${t})`).all() as ColumnInfo[]).some(
      (c) => c.name === ROW_VERSION_COLUMN,
    );
    if (!hasColumn) db.exec(`ALTER TABLE ${t} ADD COLUMN ${quote(ROW_VERSION_COLUMN)} BLOB`);
    for (const sql of changeTrackingSql()) db.exec(sql);
    const pk = quote(MOSAIQ_TABLES[CHANGE_TRACKED_TABLE].primaryKey);
    // Versions 1..n in key order, then the counter at n.
    db.exec(
      `UPDATE ${t} SET ${quote(ROW_VERSION_COLUMN)} = unhex(printf('%016X', (SELECT "value" FROM ${quote(ROW_VERSION_COUNTER_TABLE)}) + (SELECT count(*) FROM ${t} AS o WHERE o.${pk} <= ${t}.${pk})))`,
    );
    db.exec(`UPDATE ${quote(ROW_VERSION_COUNTER_TABLE)} SET "value" = "value" + (SELECT count(*) FROM ${t})`);
    db.exec(createIndexSql(ROW_VERSION_INDEX));
  })();
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

/** The change cursor reads TrackTreatment in RowVers order. */
const ROW_VERSION_INDEX = {
  name: 'IX_TrackTreatment_RowVers',
  table: CHANGE_TRACKED_TABLE,
  columns: [ROW_VERSION_COLUMN],
} as const;

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
  if (hasChangeTracking(db)) db.exec(createIndexSql(ROW_VERSION_INDEX));
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
