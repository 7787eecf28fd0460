import {
  type Change,
  ChangeConflictError,
  type ColumnValue,
  columnValuesEqual,
  MOSAIQ_TABLES,
  type SqlType,
  type TableName,
} from '@anomalia/mosaiq';
import type Database from 'better-sqlite3';
import { encodeValue } from './sqlite-types';
import { quote, tableCodec } from './table-codec';

function describe(v: ColumnValue | undefined): string {
  if (v === undefined) return 'no value';
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return JSON.stringify(v);
}

const hex = (b: number | undefined) => (b === undefined ? 'none' : `0x${b.toString(16).padStart(2, '0')}`);

/**
 * `expected X, found Y` for a value that differs from the stored one. Two blobs of one length
 * used to read "expected 200 bytes, found 200 bytes": their first differing byte is named instead.
 */
function mismatch(expected: ColumnValue | undefined, found: ColumnValue | undefined): string {
  if (expected instanceof Uint8Array && found instanceof Uint8Array && expected.length === found.length) {
    let i = 0;
    while (i < expected.length && expected[i] === found[i]) i++;
    let differing = 0;
    for (let k = i; k < expected.length; k++) if (expected[k] !== found[k]) differing++;
    return `expected ${describe(expected)} with byte ${i} = ${hex(expected[i])}, found ${hex(found[i])} there (${differing} of ${expected.length} bytes differ)`;
  }
  return `expected ${describe(expected)}, found ${describe(found)}`;
}

/**
 * Executes validated changes against the Mosaiq tables with the semantics of `applyChanges`:
 * each precondition is checked against the stored row (an update's old value, an insert's free
 * key, a deleted row's content) before writing, and a ChangeConflictError names the change that
 * fails. Returns each change as applied: an update's `oldValue` and a delete's `row` are the
 * values that were actually stored (equal to the requested ones up to `columnValuesEqual`), an
 * insert's `row` has every column (NULL where absent), so inverting it restores the exact bytes.
 * Runs inside the caller's transaction.
 */
export class ChangeExecutor {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private statement(sql: string, raw: boolean): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (raw) s.raw(true);
      this.statements.set(sql, s);
    }
    return s;
  }

  private readRow(table: TableName, key: number): Record<string, ColumnValue> | undefined {
    const codec = tableCodec(table);
    const sql = `SELECT ${codec.selectList} FROM ${quote(table)} WHERE ${quote(codec.primaryKey)} = ?`;
    const raw = this.statement(sql, true).get(key) as unknown[] | undefined;
    return raw === undefined ? undefined : (codec.decode(raw) as Record<string, ColumnValue>);
  }

  /**
   * Applies one change. `index` is its position for errors; `context` (e.g. "restoring run-3")
   * prefixes the reason of a conflict.
   */
  execute(change: Change, index: number, context?: string): Change {
    const codec = tableCodec(change.table);
    const table = quote(change.table);
    const pk = quote(codec.primaryKey);
    const conflict = (reason: string) =>
      new ChangeConflictError(change, index, context ? `${context}: ${reason}` : reason);
    switch (change.kind) {
      case 'update': {
        const type = (MOSAIQ_TABLES[change.table].columns as Record<string, SqlType>)[change.column]!;
        const current = this.readRow(change.table, change.key);
        if (current === undefined) throw conflict('no row has this key');
        const stored = current[change.column] ?? null;
        if (!columnValuesEqual(stored, change.oldValue)) {
          throw conflict(mismatch(change.oldValue, stored));
        }
        const value = encodeValue(type, change.newValue, codec.where(change.key, change.column));
        this.statement(`UPDATE ${table} SET ${quote(change.column)} = ? WHERE ${pk} = ?`, false).run(
          value,
          change.key,
        );
        return { ...change, oldValue: stored };
      }
      case 'insert': {
        const exists = this.statement(`SELECT 1 FROM ${table} WHERE ${pk} = ?`, true).get(change.key);
        if (exists !== undefined) throw conflict('a row with this key already exists');
        const row: Record<string, ColumnValue> = {};
        for (const column of codec.columns) row[column] = change.row[column] ?? null;
        const sql = `INSERT INTO ${table} (${codec.selectList}) VALUES (${codec.columns.map(() => '?').join(', ')})`;
        this.statement(sql, false).run(codec.encode(row));
        return { kind: 'insert', table: change.table, key: change.key, row };
      }
      case 'delete': {
        const current = this.readRow(change.table, change.key);
        if (current === undefined) throw conflict('no row has this key');
        for (const [column, value] of Object.entries(change.row)) {
          if (!columnValuesEqual(current[column], value)) {
            throw conflict(`${column}: ${mismatch(value, current[column])}`);
          }
        }
        this.statement(`DELETE FROM ${table} WHERE ${pk} = ?`, false).run(change.key);
        return { kind: 'delete', table: change.table, key: change.key, row: current };
      }
    }
  }
}
