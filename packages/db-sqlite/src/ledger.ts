import { parseJsonText, parseWith, ValidationError } from '@anomalia/core';
import {
  type Change,
  type ColumnValue,
  columnValueFromJson,
  columnValueToJson,
  type LedgerEntry,
  MOSAIQ_TABLES,
  RunMetaSchema,
  type SandboxRun,
  type SqlType,
  TABLE_NAMES,
  type TableName,
  validateChange,
} from '@anomalia/mosaiq';
import { z } from 'zod';
import { decodeValue, encodeValue, SQLITE_STORAGE, type SqliteValue } from './sqlite-types';

/** One row of the ledger table as stored. */
export interface LedgerRow {
  run_id: string;
  seq: number;
  kind: Change['kind'];
  table_name: string;
  row_key: number;
  column_name: string | null;
  sql_type: string | null;
  old_value: unknown;
  new_value: unknown;
  row_json: string | null;
  mode: string | null;
  variant: string | null;
  applied_at: number;
}

/** A typed value for an ANY column: integers as INTEGER (bound as bigint), others as themselves. */
function ledgerValue(type: SqlType, value: ColumnValue, where: string): SqliteValue {
  const v = encodeValue(type, value, where);
  return typeof v === 'number' && SQLITE_STORAGE[type] === 'INTEGER' ? BigInt(v) : v;
}

/** A stored row: an object of column values as JSON (their types are checked column by column). */
const rowJsonSchema = z.record(z.string(), z.unknown());

function rowToJson(row: Readonly<Record<string, ColumnValue>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, columnValueToJson(v)])));
}

function rowFromJson(text: string, where: string): Record<string, ColumnValue> {
  const row = parseWith(rowJsonSchema, parseJsonText(text, where), where);
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      columnValueFromJson(v as Parameters<typeof columnValueFromJson>[0], `${where}.${k}`),
    ]),
  );
}

/** The values of a ledger row for an applied change (run id, seq, mode, variant, time added by the caller). */
export function ledgerFields(change: Change): Pick<
  LedgerRow,
  'kind' | 'table_name' | 'row_key' | 'column_name' | 'sql_type' | 'row_json'
> & {
  old_value: SqliteValue;
  new_value: SqliteValue;
} {
  if (change.kind === 'update') {
    const type = (MOSAIQ_TABLES[change.table].columns as Record<string, SqlType>)[change.column]!;
    const where = `${change.table}[${change.key}].${change.column}`;
    return {
      kind: 'update',
      table_name: change.table,
      row_key: change.key,
      column_name: change.column,
      sql_type: type,
      old_value: ledgerValue(type, change.oldValue, where),
      new_value: ledgerValue(type, change.newValue, where),
      row_json: null,
    };
  }
  return {
    kind: change.kind,
    table_name: change.table,
    row_key: change.key,
    column_name: null,
    sql_type: null,
    old_value: null,
    new_value: null,
    row_json: rowToJson(change.row),
  };
}

/** A stored ledger row back to its entry; a damaged row is a ValidationError naming the field. */
export function ledgerEntry(row: LedgerRow): LedgerEntry {
  const where = `${row.run_id}.ledger[${row.seq}]`;
  if (!TABLE_NAMES.includes(row.table_name as TableName)) {
    throw new ValidationError(`${where}.table_name`, `one of ${TABLE_NAMES.join(', ')}`, row.table_name);
  }
  const table = row.table_name as TableName;
  let change: Change;
  if (row.kind === 'update') {
    const type = (MOSAIQ_TABLES[table].columns as Record<string, SqlType>)[row.column_name ?? ''];
    if (!type || type !== row.sql_type) {
      throw new ValidationError(
        `${where}.column_name`,
        `a column of ${table} with its SQL type`,
        row.column_name,
      );
    }
    change = {
      kind: 'update',
      table,
      key: row.row_key,
      column: row.column_name!,
      oldValue: decodeValue(type, row.old_value, `${where}.old_value`),
      newValue: decodeValue(type, row.new_value, `${where}.new_value`),
    };
  } else {
    if (row.row_json === null) throw new ValidationError(`${where}.row_json`, 'the row as JSON', null);
    change = { kind: row.kind, table, key: row.row_key, row: rowFromJson(row.row_json, `${where}.row_json`) };
  }
  return { runId: row.run_id, seq: row.seq, change: validateChange(change, where) };
}

/** One row of the run table as stored. */
export interface RunRow {
  seq: number;
  run_id: string;
  meta_json: string;
  applied_at: number;
  restored_at: number | null;
  status: 'applied' | 'restored';
  change_count: number;
}

/** A stored run back to its SandboxRun; damaged metadata is a ValidationError naming the run and field. */
export function runFromRow(row: RunRow): SandboxRun {
  const where = `${row.run_id}.meta_json`;
  return {
    runId: row.run_id,
    meta: parseWith(RunMetaSchema, parseJsonText(row.meta_json, where), where),
    appliedAt: new Date(row.applied_at),
    restoredAt: row.restored_at === null ? null : new Date(row.restored_at),
    status: row.status,
    changeCount: row.change_count,
  };
}
