import {
  CONTROL_POINT_COLUMNS as COMPARED_COLUMNS,
  MOSAIQ_TABLES,
  type TreatmentRecord,
  type TxFieldPointRow,
} from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { computeGeometry } from './geometry';
import { canonicalPoints } from './points-content';

const records: TreatmentRecord[] = generateRecords({ seed: 5, records: 400 });
const points = records.find((r) => r.controlPoints.length > 3)!.controlPoints;
/** The same rows as a database adapter reads them again: new objects, new arrays and leaf sets. */
const reread = (list: readonly TxFieldPointRow[]) =>
  list.map((p) => ({
    ...p,
    Create_DtTm: p.Create_DtTm && new Date(p.Create_DtTm.getTime()),
    Edit_DtTm: p.Edit_DtTm && new Date(p.Edit_DtTm.getTime()),
    A_Leaf_Set: p.A_Leaf_Set?.slice() ?? null,
    B_Leaf_Set: p.B_Leaf_Set?.slice() ?? null,
  }));

describe('canonicalPoints', () => {
  it('gives a list read again the list it gave the first time, a copy equal to it', () => {
    const first = canonicalPoints(points);
    expect(first).not.toBe(points);
    expect(first).toEqual(points);
    expect(canonicalPoints(reread(points))).toBe(first);
    expect(canonicalPoints(first)).toBe(first);
  });

  it('compares every column of TxFieldPoint', () => {
    expect([...COMPARED_COLUMNS].sort()).toEqual(Object.keys(MOSAIQ_TABLES.TxFieldPoint.columns).sort());
  });

  it('gives a list with any column of any point changed its own list', () => {
    const base = canonicalPoints(reread(points));
    for (const column of COMPARED_COLUMNS) {
      const edited = reread(points);
      const p = edited[2]! as Record<string, unknown>;
      const v = p[column];
      if (v instanceof Date) p[column] = new Date(v.getTime() + 1000);
      else if (v instanceof Uint8Array) {
        const bytes = v.slice();
        bytes[1] = bytes[1]! ^ 1;
        p[column] = bytes;
      } else p[column] = typeof v === 'number' ? v + 1 : 1;
      const list = canonicalPoints(edited);
      expect(list, column).not.toBe(base);
      expect(list, column).toEqual(edited);
      // The field as it was is a list of its own again.
      expect(canonicalPoints(reread(points)), column).not.toBe(list);
    }
  });

  it('keeps its copy when the rows it was given are edited in place', () => {
    const rows = reread(points).map((p) => ({ ...p, FLD_ID: 987_654 }));
    const list = canonicalPoints(rows);
    const geometry = computeGeometry(list);
    rows[0]!.A_Leaf_Set![0] = rows[0]!.A_Leaf_Set![0]! ^ 0xff;
    rows[0]!.Edit_DtTm?.setTime(0);
    (rows[1] as { Gantry_Ang: number | null }).Gantry_Ang = 359;
    expect(computeGeometry(list)).toEqual(geometry);
    expect(canonicalPoints(reread(rows))).not.toBe(list);
  });
});
