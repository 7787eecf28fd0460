import { ValidationError } from '@anomalia/core';
import { MOSAIQ_TABLES, type TableName } from '@anomalia/mosaiq';
import type Database from 'better-sqlite3';
import { hasTable, openWritable } from './connection';
import { quote } from './table-codec';

interface ColumnInfo {
  name: string;
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

/** The change cursor reads TrackTreatment in RowVers order. */
export const ROW_VERSION_INDEX_SQL = `CREATE INDEX IF NOT EXISTS "IX_TrackTreatment_RowVers" ON ${quote(CHANGE_TRACKED_TABLE)} (${quote(ROW_VERSION_COLUMN)})`;

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
 * Adds change tracking to a database file created before it existed: the RowVers column, the
 * counter and the triggers, and a version for every existing row (in TTX_ID order), in one
 * transaction. This writes to the file: run it once, deliberately, on a database you own (a
 * monitor's source is only ever opened read-only). Does nothing when tracking is already there.
 */
export function enableChangeTracking(path: string): void {
  const db = openWritable(path);
  try {
    if (!hasTable(db, CHANGE_TRACKED_TABLE))
      throw new ValidationError('path', 'a Mosaiq database (with a TrackTreatment table)', path);
    addChangeTracking(db);
  } finally {
    db.close();
  }
}

/** `enableChangeTracking` on an open handle. */
export function addChangeTracking(db: Database.Database): void {
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
    db.exec(ROW_VERSION_INDEX_SQL);
  })();
}
