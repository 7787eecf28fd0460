import { ValidationError } from '@anomalia/core';
import { allTablesPresent, TABLE_NAMES, type TableName, type TablePresence } from '@anomalia/mosaiq';
import type Database from 'better-sqlite3';
import { hasTable } from './connection';
import { quote } from './table-codec';

/**
 * Where an imported database records what its extract contained: one row per Mosaiq table,
 * present or absent. A database without this table (a synthetic clinic, a copy of a live
 * Mosaiq) has every table present.
 */
export const EXTRACT_TABLE = 'Anomalia_Extract';

/** What the extract held for one Mosaiq table. */
export interface ExtractTableRecord {
  table: TableName;
  /** False when the extract had no file for the table (absent is not empty). */
  present: boolean;
  /** The files read for it, relative to the extract directory. */
  files: string[];
  rowsRead: number;
  rowsLoaded: number;
  identicalDuplicates: number;
  conflictingDuplicates: number;
}

/** The whole record: the extract and when it was imported, per table. */
export interface ExtractRecord {
  source: string;
  importedAt: Date;
  onDuplicate: string;
  tables: ExtractTableRecord[];
}

const CREATE = `CREATE TABLE ${quote(EXTRACT_TABLE)} (
  "Table_Name" TEXT PRIMARY KEY NOT NULL,
  "Present" INTEGER NOT NULL CHECK ("Present" IN (0, 1)),
  "Files" TEXT NOT NULL,
  "Rows_Read" INTEGER NOT NULL,
  "Rows_Loaded" INTEGER NOT NULL,
  "Identical_Duplicates" INTEGER NOT NULL,
  "Conflicting_Duplicates" INTEGER NOT NULL,
  "Source" TEXT NOT NULL,
  "Imported_At" TEXT NOT NULL,
  "On_Duplicate" TEXT NOT NULL
) STRICT`;

/** Writes the record (one row per Mosaiq table; a table not listed is recorded absent). */
export function writeExtractRecord(db: Database.Database, record: ExtractRecord): void {
  const byTable = new Map(record.tables.map((t) => [t.table, t]));
  db.transaction(() => {
    db.exec(CREATE);
    const insert = db.prepare(`INSERT INTO ${quote(EXTRACT_TABLE)} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const table of TABLE_NAMES) {
      const t = byTable.get(table) ?? {
        table,
        present: false,
        files: [],
        rowsRead: 0,
        rowsLoaded: 0,
        identicalDuplicates: 0,
        conflictingDuplicates: 0,
      };
      insert.run(
        table,
        t.present ? 1 : 0,
        JSON.stringify(t.files),
        t.rowsRead,
        t.rowsLoaded,
        t.identicalDuplicates,
        t.conflictingDuplicates,
        record.source,
        record.importedAt.toISOString(),
        record.onDuplicate,
      );
    }
  })();
}

interface RecordRow {
  Table_Name: string;
  Present: number;
  Files: string;
  Rows_Read: number;
  Rows_Loaded: number;
  Identical_Duplicates: number;
  Conflicting_Duplicates: number;
  Source: string;
  Imported_At: string;
  On_Duplicate: string;
}

/** The extract record of a database, or null when it has none (every table then counts as present). */
export function readExtractRecord(db: Database.Database, database = 'database'): ExtractRecord | null {
  if (!hasTable(db, EXTRACT_TABLE)) return null;
  const rows = db.prepare(`SELECT * FROM ${quote(EXTRACT_TABLE)}`).all() as RecordRow[];
  const where = `${database}: ${EXTRACT_TABLE}`;
  const tables = rows.map((r): ExtractTableRecord => {
    if (!(TABLE_NAMES as readonly string[]).includes(r.Table_Name))
      throw new ValidationError(`${where}.Table_Name`, `one of ${TABLE_NAMES.join(', ')}`, r.Table_Name);
    let files: unknown;
    try {
      files = JSON.parse(r.Files);
    } catch {
      files = null;
    }
    if (!Array.isArray(files) || !files.every((f) => typeof f === 'string'))
      throw new ValidationError(`${where}[${r.Table_Name}].Files`, 'a JSON array of file names', r.Files);
    return {
      table: r.Table_Name as TableName,
      present: r.Present === 1,
      files,
      rowsRead: r.Rows_Read,
      rowsLoaded: r.Rows_Loaded,
      identicalDuplicates: r.Identical_Duplicates,
      conflictingDuplicates: r.Conflicting_Duplicates,
    };
  });
  const missing = TABLE_NAMES.filter((t) => !tables.some((r) => r.table === t));
  if (missing.length > 0)
    throw new ValidationError(where, `a row for every Mosaiq table (missing: ${missing.join(', ')})`);
  const first = rows[0]!;
  return {
    source: first.Source,
    importedAt: new Date(first.Imported_At),
    onDuplicate: first.On_Duplicate,
    tables: TABLE_NAMES.map((t) => tables.find((r) => r.table === t)!),
  };
}

/** Which tables a database holds: from its extract record, or all of them when it has none. */
export function tablePresenceOf(db: Database.Database, database = 'database'): TablePresence {
  const record = readExtractRecord(db, database);
  if (!record) return allTablesPresent();
  return {
    recorded: true,
    present: record.tables.filter((t) => t.present).map((t) => t.table),
    absent: record.tables.filter((t) => !t.present).map((t) => t.table),
  };
}
