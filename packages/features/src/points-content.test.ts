// Every column: `CONTROL_POINT_COLUMNS` is checked against the schema in @anomalia/mosaiq.
import { CONTROL_POINT_COLUMNS as COMPARED_COLUMNS, type TreatmentRecord } from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { rereadPoints, withColumnChanged } from '@anomalia/mosaiq/testing';
import { describe, expect, it } from 'vitest';
import { computeGeometry } from './geometry';
import { canonicalPoints } from './points-content';

const records: TreatmentRecord[] = generateRecords({ seed: 5, records: 400 });
const points = records.find((r) => r.controlPoints.length > 3)!.controlPoints;

describe('canonicalPoints', () => {
  it('gives a list read again the list it gave the first time, a copy equal to it', () => {
    const first = canonicalPoints(points);
    expect(first).not.toBe(points);
    expect(first).toEqual(points);
    expect(canonicalPoints(rereadPoints(points))).toBe(first);
    expect(canonicalPoints(first)).toBe(first);
  });

  it('gives a list with any column of any point changed its own list', () => {
    const base = canonicalPoints(rereadPoints(points));
    for (const column of COMPARED_COLUMNS) {
      const edited = withColumnChanged(points, column);
      const list = canonicalPoints(edited);
      expect(list, column).not.toBe(base);
      expect(list, column).toEqual(edited);
      // The field as it was is a list of its own again.
      expect(canonicalPoints(rereadPoints(points)), column).not.toBe(list);
    }
  });

  it('keeps its copy when the rows it was given are edited in place', () => {
    const rows = rereadPoints(points).map((p) => ({ ...p, FLD_ID: 987_654 }));
    const list = canonicalPoints(rows);
    const geometry = computeGeometry(list);
    rows[0]!.A_Leaf_Set![0] = rows[0]!.A_Leaf_Set![0]! ^ 0xff;
    rows[0]!.Edit_DtTm?.setTime(0);
    (rows[1] as { Gantry_Ang: number | null }).Gantry_Ang = 359;
    expect(computeGeometry(list)).toEqual(geometry);
    expect(canonicalPoints(rereadPoints(rows))).not.toBe(list);
  });
});
