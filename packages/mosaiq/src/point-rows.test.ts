import { describe, expect, it } from 'vitest';
import { CONTROL_POINT_COLUMNS, sameControlPoints } from './point-rows';
import { generateRecords } from './synthetic';
import { MOSAIQ_TABLES, type TxFieldPointRow } from './tables';

const points = generateRecords({ seed: 5, records: 400 }).find(
  (r) => r.controlPoints.length > 3,
)!.controlPoints;
/** The same rows read again: new objects, dates and leaf sets. */
const reread = (list: readonly TxFieldPointRow[]) =>
  list.map((p) => ({
    ...p,
    Create_DtTm: p.Create_DtTm && new Date(p.Create_DtTm.getTime()),
    Edit_DtTm: p.Edit_DtTm && new Date(p.Edit_DtTm.getTime()),
    A_Leaf_Set: p.A_Leaf_Set?.slice() ?? null,
    B_Leaf_Set: p.B_Leaf_Set?.slice() ?? null,
  }));

describe('sameControlPoints', () => {
  it('compares every column of TxFieldPoint', () => {
    expect([...CONTROL_POINT_COLUMNS].sort()).toEqual(Object.keys(MOSAIQ_TABLES.TxFieldPoint.columns).sort());
  });

  it('holds a list read again the same, and one with any column of any point changed not', () => {
    expect(sameControlPoints(points, reread(points))).toBe(true);
    expect(sameControlPoints(points, reread(points).slice(1))).toBe(false);
    for (const column of CONTROL_POINT_COLUMNS) {
      const edited = reread(points);
      const p = edited[2]! as Record<string, unknown>;
      const v = p[column];
      if (v instanceof Date) p[column] = new Date(v.getTime() + 1000);
      else if (v instanceof Uint8Array) {
        const bytes = v.slice();
        bytes[1] = bytes[1]! ^ 1;
        p[column] = bytes;
      } else p[column] = typeof v === 'number' ? v + 1 : 1;
      expect(sameControlPoints(points, edited), column).toBe(false);
    }
  });
});
