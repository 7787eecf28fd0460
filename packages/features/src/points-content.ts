import { sameControlPoints, type TxFieldPointRow } from '@anomalia/mosaiq';

/**
 * One list per control-point content: a reader that builds new arrays for every batch (a database
 * adapter) gets back, for a field's points it saw lately, the list it got the first time, so what
 * is computed once per list (the qa74 geometry, the tracker's point statistics) is computed once
 * per field content. The list kept is a copy, and a hit is checked row by row on every column, so
 * an edited point is never served another list's numbers. An array given once is remembered by
 * identity: it must not be changed in place afterwards (readers build new rows for an edit).
 */
const canonical = new WeakMap<readonly TxFieldPointRow[], readonly TxFieldPointRow[]>();
/** The latest lists by field and length, oldest first. */
const recent = new Map<string, readonly TxFieldPointRow[]>();
const RECENT_LISTS = 1024;

export function canonicalPoints(points: readonly TxFieldPointRow[]): readonly TxFieldPointRow[] {
  const known = canonical.get(points);
  if (known) return known;
  const key = `${points[0]?.FLD_ID ?? ''}|${points.length}`;
  let list = recent.get(key);
  if (!list || !sameControlPoints(list, points)) {
    list = points.map(copyRow);
    recent.delete(key);
    recent.set(key, list);
    if (recent.size > RECENT_LISTS) recent.delete(recent.keys().next().value!);
    canonical.set(list, list);
  }
  canonical.set(points, list);
  return list;
}

/** A copy of a row: its dates and leaf sets too, so an in-place edit of the row cannot reach it. */
const copyRow = (row: TxFieldPointRow): TxFieldPointRow => ({
  ...row,
  Create_DtTm: copyDate(row.Create_DtTm),
  Edit_DtTm: copyDate(row.Edit_DtTm),
  A_Leaf_Set: row.A_Leaf_Set === null ? null : row.A_Leaf_Set.slice(),
  B_Leaf_Set: row.B_Leaf_Set === null ? null : row.B_Leaf_Set.slice(),
});
const copyDate = (d: Date | null) => (d === null ? null : new Date(d.getTime()));
