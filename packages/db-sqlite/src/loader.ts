import { ValidationError } from '@anomalia/core';
import {
  type DuplicateTally,
  FOREIGN_KEYS,
  type LocatedRow,
  TABLE_NAMES,
  type TableName,
  type TableRows,
} from '@anomalia/mosaiq';
import { type ClinicOptionsInput, generateClinic } from '@anomalia/mosaiq/synthetic';
import type Database from 'better-sqlite3';
import { createDatabaseFile, removeDatabaseFile } from './connection';
import { type ExtractRecord, writeExtractRecord } from './extract-record';
import { createIndexes, createSchema } from './schema';
import { quote, tableCodec } from './table-codec';

export type TableCounts = Record<TableName, number>;

export interface LoadSummary {
  path: string;
  /** Rows written per table. */
  rows: TableCounts;
  /** Wall time of the load (including indexing), in seconds. */
  seconds: number;
}

/** Equal as stored: numbers and text by value, BLOBs byte for byte (the driver returns Buffers). */
function sameStoredValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return false;
}

const zeroCounts = (): TableCounts =>
  Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as unknown as TableCounts;

/**
 * Bulk-loads Mosaiq rows into a new database: tables created without indexes, WAL journal and
 * `synchronous = OFF` while loading, one prepared INSERT per table and one transaction per
 * batch; `finish()` then builds the indexes, gathers statistics, checkpoints and returns the file
 * to a rollback journal with full sync, so it is a single self-contained file that read-only
 * readers can open. Only the columns of MOSAIQ_TABLES are stored; each value is type-checked.
 */
export class MosaiqLoader {
  private readonly inserts: Map<TableName, Database.Statement>;
  // Prepared on first use by loadExtractRows.
  private readonly keepFirst = new Map<
    TableName,
    { insert: Database.Statement; stored: Database.Statement }
  >();
  private readonly counts = zeroCounts();
  private readonly started = performance.now();
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {
    this.inserts = new Map(
      TABLE_NAMES.map((table) => {
        const codec = tableCodec(table);
        const sql = `INSERT INTO ${quote(table)} (${codec.selectList}) VALUES (${codec.columns.map(() => '?').join(', ')})`;
        return [table, db.prepare(sql)];
      }),
    );
  }

  /** Creates the database file (refusing an existing path unless `overwrite`) and its tables. */
  static create(path: string, options: { overwrite?: boolean } = {}): MosaiqLoader {
    const db = createDatabaseFile(path, options);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = OFF');
      createSchema(db, { indexes: false });
      return new MosaiqLoader(db, path);
    } catch (error) {
      db.close();
      removeDatabaseFile(path);
      throw error;
    }
  }

  /** Writes one batch of rows in one transaction (all or nothing). */
  load(rows: Partial<TableRows>): void {
    if (this.closed) throw new ValidationError('loader', 'an open loader (finish() was called)');
    if (!rows || typeof rows !== 'object') throw new ValidationError('rows', 'an object of table rows', rows);
    const added = zeroCounts();
    this.db.transaction(() => {
      for (const table of TABLE_NAMES) {
        const list = rows[table];
        if (list === undefined) continue;
        if (!Array.isArray(list)) throw new ValidationError(`rows.${table}`, 'an array of rows', list);
        const codec = tableCodec(table);
        const insert = this.inserts.get(table)!;
        for (let i = 0; i < list.length; i++) {
          const row = list[i] as Record<string, unknown>;
          try {
            insert.run(codec.encode(row));
          } catch (error) {
            const code = (error as { code?: string }).code;
            if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
              throw new ValidationError(
                `rows.${table}[${i}].${codec.primaryKey}`,
                'a primary-key value not already in the database',
                row[codec.primaryKey],
              );
            }
            throw error;
          }
        }
        added[table] = list.length;
      }
    })();
    for (const table of TABLE_NAMES) this.counts[table] += added[table];
  }

  /**
   * Writes rows read from an extract file in one transaction. A row whose primary key is already
   * loaded (earlier in this file or in another) is not inserted: it is compared with the stored
   * row over every stored column and reported to `duplicates`, which drops it when identical and,
   * when it differs, drops it under `keep-first` or throws under `error` (the transaction then
   * rolls back). `where(i)` names row i in reports and errors (e.g. `Staff.csv line 104`).
   * Returns the number of rows inserted.
   */
  loadExtractRows<T extends TableName>(
    table: T,
    rows: readonly LocatedRow<T>[],
    duplicates: DuplicateTally,
    where: (row: LocatedRow<T>) => string,
  ): number {
    if (this.closed) throw new ValidationError('loader', 'an open loader (finish() was called)');
    if (duplicates.table !== table)
      throw new ValidationError('duplicates.table', `the tally of ${table}`, duplicates.table);
    const codec = tableCodec(table);
    let statements = this.keepFirst.get(table);
    if (!statements) {
      const pk = quote(codec.primaryKey);
      statements = {
        insert: this.db.prepare(
          `INSERT INTO ${quote(table)} (${codec.selectList}) VALUES (${codec.columns.map(() => '?').join(', ')}) ON CONFLICT (${pk}) DO NOTHING`,
        ),
        stored: this.db.prepare(`SELECT ${codec.selectList} FROM ${quote(table)} WHERE ${pk} = ?`).raw(true),
      };
      this.keepFirst.set(table, statements);
    }
    const { insert, stored } = statements;
    let inserted = 0;
    this.db.transaction(() => {
      for (const located of rows) {
        const values = codec.encode(located.row as Record<string, unknown>);
        if (insert.run(values).changes === 1) {
          inserted++;
          continue;
        }
        const key = values[codec.pkIndex] as number;
        const old = stored.get(key) as unknown[];
        const differing = codec.columns.filter((_, i) => !sameStoredValue(old[i], values[i]));
        duplicates.add(key, where(located), null, differing);
      }
    })();
    this.counts[table] += inserted;
    return inserted;
  }

  /** Records what the extract contained (see `readExtractRecord`); call before `finish`. */
  recordExtract(record: ExtractRecord): void {
    if (this.closed) throw new ValidationError('loader', 'an open loader (finish() was called)');
    writeExtractRecord(this.db, record);
  }

  /**
   * References between loaded tables that point at no row (`FOREIGN_KEYS`), counted for the
   * tables in `present` (a reference into an absent table points nowhere by construction).
   */
  danglingReferences(
    present: readonly TableName[],
  ): { from: TableName; column: string; to: TableName; rows: number }[] {
    const out = [];
    for (const fk of FOREIGN_KEYS) {
      if (!present.includes(fk.from) || !present.includes(fk.to)) continue;
      const rows = this.db
        .prepare(
          // A non-correlated IN list: SQLite builds one temporary index of it (no index exists yet).
          `SELECT count(*) FROM ${quote(fk.from)} WHERE ${quote(fk.column)} NOT IN ` +
            `(SELECT ${quote(fk.toColumn)} FROM ${quote(fk.to)} WHERE ${quote(fk.toColumn)} IS NOT NULL)`,
        )
        .pluck()
        .get() as number;
      if (rows > 0) out.push({ from: fk.from, column: fk.column, to: fk.to, rows });
    }
    return out;
  }

  /** How many TxField rows there are, and how many of them have control points. */
  controlPointCoverage(): { fields: number; withPoints: number } {
    const count = (sql: string) => this.db.prepare(sql).pluck().get() as number;
    return {
      fields: count('SELECT count(*) FROM "TxField"'),
      withPoints: count(
        'SELECT count(DISTINCT "FLD_ID") FROM "TxFieldPoint" WHERE "FLD_ID" IN (SELECT "FLD_ID" FROM "TxField")',
      ),
    };
  }

  /** Builds indexes, analyzes, checkpoints, closes. The database is then ready to read. */
  finish(): LoadSummary {
    if (this.closed) throw new ValidationError('loader', 'an open loader (finish() was called)');
    createIndexes(this.db);
    this.db.exec('ANALYZE');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.pragma('journal_mode = DELETE');
    this.db.pragma('synchronous = FULL');
    this.db.close();
    this.closed = true;
    return { path: this.path, rows: { ...this.counts }, seconds: (performance.now() - this.started) / 1000 };
  }

  /** Closes and deletes the partly loaded file. */
  abort(): void {
    if (!this.closed) this.db.close();
    this.closed = true;
    removeDatabaseFile(this.path);
  }
}

/**
 * A new database holding a synthetic clinic (`generateClinic` of @anomalia/mosaiq), streamed
 * batch by batch so large clinics never sit in memory. Not a sandbox: use `createSandbox` for that.
 */
export function createClinicDatabase(
  path: string,
  clinic: ClinicOptionsInput,
  options: { overwrite?: boolean } = {},
): LoadSummary & { records: number } {
  // Validate the options before a file is created (the generator checks them on first use).
  const batches = generateClinic(clinic);
  const first = batches.next();
  const loader = MosaiqLoader.create(path, options);
  let records = 0;
  try {
    if (!first.done) {
      loader.load(first.value.rows);
      records += first.value.records.length;
      for (const batch of batches) {
        loader.load(batch.rows);
        records += batch.records.length;
      }
    }
    return { ...loader.finish(), records };
  } catch (error) {
    loader.abort();
    throw error;
  }
}
