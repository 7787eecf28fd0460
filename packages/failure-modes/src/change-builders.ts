import {
  type Change,
  type ColumnValue,
  columnValuesEqual,
  MOSAIQ_TABLES,
  type TableName,
  type UpdateChange,
} from '@anomalia/mosaiq';

type AnyRow = Readonly<Record<string, unknown>>;

function keyOf(table: TableName, row: AnyRow): number {
  return row[MOSAIQ_TABLES[table].primaryKey] as number;
}

/** The columns of `table` that Anomalia writes, taken from `row` (missing ones as NULL). */
export function knownColumns(table: TableName, row: AnyRow): Record<string, ColumnValue> {
  const out: Record<string, ColumnValue> = {};
  for (const column of Object.keys(MOSAIQ_TABLES[table].columns)) {
    out[column] = (row[column] as ColumnValue | undefined) ?? null;
  }
  return out;
}

/** An update of one cell, or null when the cell already holds the value (no no-op changes). */
export function updateCell(
  table: TableName,
  row: AnyRow,
  column: string,
  newValue: ColumnValue,
): UpdateChange | null {
  const oldValue = (row[column] as ColumnValue | undefined) ?? null;
  if (columnValuesEqual(oldValue, newValue)) return null;
  return { kind: 'update', table, key: keyOf(table, row), column, oldValue, newValue };
}

/** Deletes a row; the change carries the full old row so it can be restored. */
export function deleteRow(table: TableName, row: AnyRow): Change {
  return { kind: 'delete', table, key: keyOf(table, row), row: knownColumns(table, row) };
}

/** Inserts a row (every known column, the key included). */
export function insertRow(table: TableName, row: AnyRow): Change {
  return { kind: 'insert', table, key: keyOf(table, row), row: knownColumns(table, row) };
}

/** The non-null changes. */
export function compact(changes: readonly (Change | null)[]): Change[] {
  return changes.filter((c): c is Change => c !== null);
}
