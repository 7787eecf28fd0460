import { parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';
import { decodeBase64, encodeBase64Url } from './csv';
import { type ColumnValue, isColumnValue, type SqlType } from './sql-types';
import { MOSAIQ_TABLES, TABLE_NAMES, type TableName, type TableRows } from './tables';

/**
 * One edit of one Mosaiq row, as failure modes produce them and sandbox writers apply them.
 * `key` is the value of the table's primary key (every table here has a single integer key, see
 * MOSAIQ_TABLES). Only the columns in MOSAIQ_TABLES may be named, and values must have their
 * column's type (Date for datetime, Uint8Array for binary, boolean for bit, null for NULL), so a
 * change can be checked before it reaches a database and undone exactly.
 */
export type Change = UpdateChange | InsertChange | DeleteChange;

export interface UpdateChange {
  kind: 'update';
  table: TableName;
  key: number;
  column: string;
  oldValue: ColumnValue;
  newValue: ColumnValue;
}

/** A new row; `row` holds every column to write, including the primary key (equal to `key`). */
export interface InsertChange {
  kind: 'insert';
  table: TableName;
  key: number;
  row: Readonly<Record<string, ColumnValue>>;
}

/** Removes a row; `row` is the full old row (every column in MOSAIQ_TABLES), so it can be restored. */
export interface DeleteChange {
  kind: 'delete';
  table: TableName;
  key: number;
  row: Readonly<Record<string, ColumnValue>>;
}

function columnsOf(table: TableName): Record<string, SqlType> {
  return MOSAIQ_TABLES[table].columns as Record<string, SqlType>;
}

function checkRowValues(
  table: TableName,
  key: number,
  row: Readonly<Record<string, ColumnValue>>,
  path: string,
  requireAll: boolean,
): void {
  const columns = columnsOf(table);
  const pk = MOSAIQ_TABLES[table].primaryKey;
  for (const [column, value] of Object.entries(row)) {
    const type = columns[column];
    if (!type) {
      throw new ValidationError(
        `${path}.row.${column}`,
        `a column of ${table}: ${Object.keys(columns).join(', ')}`,
      );
    }
    if (!isColumnValue(type, value, column !== pk)) {
      throw new ValidationError(
        `${path}.row.${column}`,
        `a value of SQL type ${type}${column === pk ? '' : ' or null'}`,
        value,
      );
    }
  }
  if (row[pk] !== key) throw new ValidationError(`${path}.row.${pk}`, `the change's key ${key}`, row[pk]);
  if (requireAll) {
    for (const column of Object.keys(columns)) {
      if (!(column in row))
        throw new ValidationError(
          `${path}.row.${column}`,
          'a value (the full old row is needed to restore it)',
        );
    }
  }
}

/**
 * Checks a change against the schema: known table and column, integer key, values of the
 * column's type, the primary key never updated. Throws a ValidationError naming the field.
 */
export function validateChange(change: Change, path = 'change'): Change {
  if (!change || typeof change !== 'object') throw new ValidationError(path, 'a change object', change);
  if (!TABLE_NAMES.includes(change.table)) {
    throw new ValidationError(`${path}.table`, `one of ${TABLE_NAMES.join(', ')}`, change.table);
  }
  if (!Number.isInteger(change.key))
    throw new ValidationError(`${path}.key`, 'an integer primary key value', change.key);
  const columns = columnsOf(change.table);
  switch (change.kind) {
    case 'update': {
      const type = columns[change.column];
      if (!type) {
        throw new ValidationError(
          `${path}.column`,
          `a column of ${change.table}: ${Object.keys(columns).join(', ')}`,
          change.column,
        );
      }
      if (change.column === MOSAIQ_TABLES[change.table].primaryKey) {
        throw new ValidationError(
          `${path}.column`,
          'a column other than the primary key (delete and insert instead)',
          change.column,
        );
      }
      if (!isColumnValue(type, change.oldValue)) {
        throw new ValidationError(`${path}.oldValue`, `a value of SQL type ${type} or null`, change.oldValue);
      }
      if (!isColumnValue(type, change.newValue)) {
        throw new ValidationError(`${path}.newValue`, `a value of SQL type ${type} or null`, change.newValue);
      }
      return change;
    }
    case 'insert':
      checkRowValues(change.table, change.key, change.row, path, false);
      return change;
    case 'delete':
      checkRowValues(change.table, change.key, change.row, path, true);
      return change;
    default:
      throw new ValidationError(
        `${path}.kind`,
        'update, insert or delete',
        (change as { kind?: unknown }).kind,
      );
  }
}

/** The change that undoes `change`. */
export function invertChange(change: Change): Change {
  switch (change.kind) {
    case 'update':
      return { ...change, oldValue: change.newValue, newValue: change.oldValue };
    case 'insert':
      return { kind: 'delete', table: change.table, key: change.key, row: change.row };
    case 'delete':
      return { kind: 'insert', table: change.table, key: change.key, row: change.row };
  }
}

/** The changes that undo `changes` (inverted, in reverse order). */
export function invertChanges(changes: readonly Change[]): Change[] {
  return changes.map(invertChange).reverse();
}

/**
 * Equality of stored values: Dates by instant, bytes byte for byte, numbers within 1e-9 relative
 * (decimals may come back from a driver with a different binary representation).
 */
export function columnValuesEqual(a: ColumnValue | undefined, b: ColumnValue | undefined): boolean {
  if (a === b) return true;
  if (a == null || b == null) return (a ?? null) === (b ?? null);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (typeof a === 'number' && typeof b === 'number') {
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  }
  return false;
}

/** A change whose precondition does not hold: the stored value is not the one it expects. */
export class ChangeConflictError extends Error {
  override readonly name = 'ChangeConflictError';
  constructor(
    readonly change: Change,
    readonly index: number,
    readonly reason: string,
  ) {
    super(
      `changes[${index}] (${change.kind} ${change.table} ${change.key}${change.kind === 'update' ? `.${change.column}` : ''}): ${reason}`,
    );
  }
}

function describe(v: ColumnValue | undefined): string {
  if (v === undefined) return 'no value';
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return JSON.stringify(v);
}

/**
 * Applies changes to in-memory rows with the semantics a sandbox writer must have: every
 * precondition is checked (an update's old value, an insert's free key, a deleted row's content)
 * and a ChangeConflictError names the first that fails, leaving `rows` untouched. Returns new
 * table arrays; changed rows are copies, unchanged rows are shared.
 */
export function applyChanges(rows: TableRows, changes: readonly Change[]): TableRows {
  // Each touched table is copied once and indexed by primary key, so a change costs O(1), not a scan.
  // Deleted rows leave a hole that is compacted at the end, keeping the index valid.
  type Slot = Record<string, ColumnValue> | undefined;
  const touched = new Map<TableName, { list: Slot[]; index: Map<unknown, number> }>();
  const tableFor = (table: TableName) => {
    let t = touched.get(table);
    if (!t) {
      const pk = MOSAIQ_TABLES[table].primaryKey;
      const list = [...(rows[table] as unknown as Record<string, ColumnValue>[])] as Slot[];
      const index = new Map<unknown, number>();
      for (let i = list.length - 1; i >= 0; i--) index.set(list[i]![pk], i);
      t = { list, index };
      touched.set(table, t);
    }
    return t;
  };
  changes.forEach((change, index) => {
    validateChange(change, `changes[${index}]`);
    const { list, index: byKey } = tableFor(change.table);
    const at = byKey.get(change.key) ?? -1;
    switch (change.kind) {
      case 'update': {
        if (at < 0) throw new ChangeConflictError(change, index, 'no row has this key');
        const current = list[at]![change.column];
        if (!columnValuesEqual(current, change.oldValue)) {
          throw new ChangeConflictError(
            change,
            index,
            `expected ${describe(change.oldValue)}, found ${describe(current)}`,
          );
        }
        list[at] = { ...list[at]!, [change.column]: change.newValue };
        break;
      }
      case 'insert': {
        if (at >= 0) throw new ChangeConflictError(change, index, 'a row with this key already exists');
        const row: Record<string, ColumnValue> = {};
        for (const column of Object.keys(columnsOf(change.table))) row[column] = change.row[column] ?? null;
        list.push(row);
        byKey.set(change.key, list.length - 1);
        break;
      }
      case 'delete': {
        if (at < 0) throw new ChangeConflictError(change, index, 'no row has this key');
        const current = list[at]!;
        for (const [column, value] of Object.entries(change.row)) {
          if (!columnValuesEqual(current[column], value)) {
            throw new ChangeConflictError(
              change,
              index,
              `${column}: expected ${describe(value)}, found ${describe(current[column])}`,
            );
          }
        }
        list[at] = undefined;
        byKey.delete(change.key);
        break;
      }
    }
  });
  const out = { ...rows } as TableRows;
  for (const [table, { list }] of touched) {
    (out as Record<TableName, unknown[]>)[table] = list.filter((r) => r !== undefined);
  }
  return out;
}

// ---------- JSON form (ledgers, tool inputs, files) ----------

/** A column value in JSON: datetimes as `{ $date: ISO }`, bytes as `{ $bytes: base64url }`. */
export const ColumnValueJsonSchema = z.union([
  z.null(),
  z.number(),
  z.string(),
  z.boolean(),
  z.strictObject({ $date: z.iso.datetime({ offset: true }) }),
  z.strictObject({ $bytes: z.string().regex(/^[A-Za-z0-9_-]*={0,2}$/) }),
]);
export type ColumnValueJson = z.infer<typeof ColumnValueJsonSchema>;

const tableEnum = z.enum(TABLE_NAMES as [TableName, ...TableName[]]);
const rowJson = z.record(z.string(), ColumnValueJsonSchema);

export const ChangeJsonSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('update'),
    table: tableEnum,
    key: z.number().int(),
    column: z.string(),
    oldValue: ColumnValueJsonSchema,
    newValue: ColumnValueJsonSchema,
  }),
  z.strictObject({ kind: z.literal('insert'), table: tableEnum, key: z.number().int(), row: rowJson }),
  z.strictObject({ kind: z.literal('delete'), table: tableEnum, key: z.number().int(), row: rowJson }),
]);
export type ChangeJson = z.infer<typeof ChangeJsonSchema>;

export function columnValueToJson(value: ColumnValue): ColumnValueJson {
  if (value instanceof Date) return { $date: value.toISOString() };
  if (value instanceof Uint8Array) return { $bytes: encodeBase64Url(value) };
  return value;
}

export function columnValueFromJson(value: ColumnValueJson, field = 'value'): ColumnValue {
  if (value !== null && typeof value === 'object') {
    if ('$date' in value) return new Date(value.$date);
    return decodeBase64(value.$bytes, field);
  }
  return value;
}

const rowToJson = (row: Readonly<Record<string, ColumnValue>>) =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, columnValueToJson(v)]));

export function changeToJson(change: Change): ChangeJson {
  switch (change.kind) {
    case 'update':
      return {
        ...change,
        oldValue: columnValueToJson(change.oldValue),
        newValue: columnValueToJson(change.newValue),
      };
    case 'insert':
    case 'delete':
      return { kind: change.kind, table: change.table, key: change.key, row: rowToJson(change.row) };
  }
}

/** Parses and validates a change from JSON; a bad field is a ValidationError naming it. */
export function changeFromJson(input: unknown, path = 'change'): Change {
  const j = parseWith(ChangeJsonSchema, input, path);
  let change: Change;
  if (j.kind === 'update') {
    change = {
      ...j,
      oldValue: columnValueFromJson(j.oldValue, `${path}.oldValue`),
      newValue: columnValueFromJson(j.newValue, `${path}.newValue`),
    };
  } else {
    const row = Object.fromEntries(
      Object.entries(j.row).map(([k, v]) => [k, columnValueFromJson(v, `${path}.row.${k}`)]),
    );
    change = { kind: j.kind, table: j.table, key: j.key, row };
  }
  return validateChange(change, path);
}
