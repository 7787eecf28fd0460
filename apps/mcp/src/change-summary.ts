import type { Change, ColumnValue } from '@anomalia/mosaiq';

/** A column value as compact JSON: dates as ISO strings, blobs as their length and leading bytes. */
export type CompactValue = string | number | boolean | null;

const BLOB_PREVIEW_BYTES = 8;

export function compactValue(value: ColumnValue | undefined): CompactValue {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof Uint8Array) {
    const head = Buffer.from(value.subarray(0, BLOB_PREVIEW_BYTES)).toString('hex');
    return `0x${head}${value.length > BLOB_PREVIEW_BYTES ? '…' : ''} (${value.length} bytes)`;
  }
  return value as CompactValue;
}

const BLOB_WINDOW_BYTES = 16;

/**
 * Two versions of a blob, showing where they differ: a leaf set changed at leaf 27 looks the same
 * as the original in its first bytes. `200 bytes; @54–55: 0xabff` (the differing range, its
 * first 16 bytes at most).
 */
export function compactBlobPair(a: Uint8Array, b: Uint8Array): [string, string] {
  const n = Math.max(a.length, b.length);
  let first = 0;
  while (first < n && a[first] === b[first]) first++;
  if (first === n) return [compactValue(a) as string, compactValue(b) as string];
  let last = n - 1;
  while (last > first && a[last] === b[last]) last--;
  const show = (x: Uint8Array) => {
    const end = Math.min(last + 1, x.length, first + BLOB_WINDOW_BYTES);
    const hex = first < x.length ? Buffer.from(x.subarray(first, end)).toString('hex') : '';
    const more = Math.min(last + 1, x.length) > end ? '…' : '';
    return `${x.length} bytes; @${first}–${last}: 0x${hex}${more}`;
  };
  return [show(a), show(b)];
}

/** One change as a line a person (or a model) can read. */
export type ChangeSummary =
  | { kind: 'update'; table: string; key: number; column: string; old: CompactValue; new: CompactValue }
  | { kind: 'insert' | 'delete'; table: string; key: number; row: Record<string, CompactValue> };

export function summarizeChange(change: Change): ChangeSummary {
  if (change.kind === 'update') {
    if (change.oldValue instanceof Uint8Array && change.newValue instanceof Uint8Array) {
      const [old, now] = compactBlobPair(change.oldValue, change.newValue);
      return { kind: 'update', table: change.table, key: change.key, column: change.column, old, new: now };
    }
    return {
      kind: 'update',
      table: change.table,
      key: change.key,
      column: change.column,
      old: compactValue(change.oldValue),
      new: compactValue(change.newValue),
    };
  }
  const row: Record<string, CompactValue> = {};
  for (const [column, value] of Object.entries(change.row)) row[column] = compactValue(value);
  return { kind: change.kind, table: change.table, key: change.key, row };
}

/** The first `limit` changes summarized, and how many were left out. */
export function summarizeChanges(
  changes: readonly Change[],
  limit: number,
): { changes: ChangeSummary[]; changesOmitted: number } {
  return {
    changes: changes.slice(0, limit).map(summarizeChange),
    changesOmitted: Math.max(0, changes.length - limit),
  };
}
