import { ValidationError } from '@anomalia/core';
import { TABLE_NAMES, type TableName, type TableRows } from '@anomalia/mosaiq';
import { type ClinicOptionsInput, generateClinic } from '@anomalia/mosaiq/synthetic';
import type Database from 'better-sqlite3';
import { createDatabaseFile, removeDatabaseFile } from './connection';
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
