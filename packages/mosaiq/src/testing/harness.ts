import type { SandboxWriter, TreatmentReader } from '../adapters';
import type { UpdateChange } from '../changes';
import type { ColumnValue, SqlType } from '../sql-types';
import { MOSAIQ_TABLES, TABLE_NAMES, type TableName, type TableRows } from '../tables';

/** One database of the adapter under test, holding the rows the kit asked for. */
export interface AdapterDatabase {
  /** How messages name it (a path, server/database). */
  readonly name: string;
  /** A reader on it; the kit closes it. */
  openReader(): Promise<TreatmentReader>;
  /** A sandbox writer on it; must reject with NotASandboxError when the database is not a sandbox. */
  openWriter(): Promise<SandboxWriter>;
  /** A content hash of the Mosaiq tables (row versions excluded): equal contents, equal hashes. */
  checksum(): Promise<string>;
  /**
   * Every statement sent to this database so far by the readers and writers the harness opened,
   * oldest first (the text of each query or batch), so the kit can count queries and see that
   * nothing that writes was sent.
   */
  statements(): readonly string[];
  /**
   * Optional: makes the database itself fail when a statement writes this cell (a trigger that
   * raises an error, an injected server error), so the kit can check that a failure after part
   * of a run was written rolls everything back. The returned function removes the failure.
   */
  failWhenWriting?(change: Pick<UpdateChange, 'table' | 'key' | 'column'>): Promise<() => Promise<void>>;
  /** Removes the database. */
  dispose(): Promise<void>;
}

/** What the kit needs from an adapter. */
export interface AdapterHarness {
  /** A new database holding exactly `rows`, marked as a sandbox only when `sandbox` is true. */
  createDatabase(rows: TableRows, options: { sandbox: boolean }): Promise<AdapterDatabase>;
  /**
   * The rows as this adapter's database holds them once written (e.g. datetimes on SQL Server's
   * 1/300 s grid, decimals at their column's scale, no negative zero); expectations are built
   * from these. `storedRows` helps write it.
   */
  asStored(rows: TableRows): TableRows;
  /**
   * The most statements one `loadRecords` call may send for `ids` distinct ids (set-wise: a
   * handful of queries, growing only with the chunks a parameter limit forces).
   */
  maxStatementsPerLoad(ids: number): number;
}

/**
 * Maps every value of every row through `f` (rows and tables are copied, nothing is mutated):
 * the building block of `AdapterHarness.asStored`.
 */
export function storedRows(
  rows: TableRows,
  f: (value: ColumnValue, type: SqlType, table: TableName, column: string) => ColumnValue,
): TableRows {
  const out = {} as Record<TableName, unknown[]>;
  for (const table of TABLE_NAMES) {
    const types = Object.entries(MOSAIQ_TABLES[table].columns) as [string, SqlType][];
    out[table] = (rows[table] as unknown as Record<string, ColumnValue>[]).map((row) => {
      const copy: Record<string, ColumnValue> = { ...row };
      for (const [column, type] of types) {
        const v = row[column];
        if (v !== undefined && v !== null) copy[column] = f(v, type, table, column);
      }
      return copy;
    });
  }
  return out as unknown as TableRows;
}

/** Negative zero becomes zero (neither SQLite's REAL nor SQL Server's decimal keeps its sign). */
export function withoutNegativeZero(value: ColumnValue): ColumnValue {
  return typeof value === 'number' && Object.is(value, -0) ? 0 : value;
}
