import type { TxFieldPointRow } from '../tables';

/** The same control points as a database adapter reads them again: new objects, dates and leaf sets. */
export const rereadPoints = (list: readonly TxFieldPointRow[]): TxFieldPointRow[] =>
  list.map((p) => ({
    ...p,
    Create_DtTm: p.Create_DtTm && new Date(p.Create_DtTm.getTime()),
    Edit_DtTm: p.Edit_DtTm && new Date(p.Edit_DtTm.getTime()),
    A_Leaf_Set: p.A_Leaf_Set?.slice() ?? null,
    B_Leaf_Set: p.B_Leaf_Set?.slice() ?? null,
  }));

/** The points read again with one column of point `index` changed (a date by a second, a leaf byte flipped, a number + 1). */
export function withColumnChanged(
  list: readonly TxFieldPointRow[],
  column: keyof TxFieldPointRow,
  index = 2,
): TxFieldPointRow[] {
  const edited = rereadPoints(list);
  const p = edited[index]! as Record<string, unknown>;
  const v = p[column];
  if (v instanceof Date) p[column] = new Date(v.getTime() + 1000);
  else if (v instanceof Uint8Array) {
    const bytes = v.slice();
    bytes[1] = bytes[1]! ^ 1;
    p[column] = bytes;
  } else p[column] = typeof v === 'number' ? v + 1 : 1;
  return edited;
}
