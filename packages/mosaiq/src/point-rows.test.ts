import { describe, expect, it } from 'vitest';
import { CONTROL_POINT_COLUMNS, sameControlPoints } from './point-rows';
import { generateRecords } from './synthetic';
import { MOSAIQ_TABLES } from './tables';
import { rereadPoints, withColumnChanged } from './testing/control-points';

const points = generateRecords({ seed: 5, records: 400 }).find(
  (r) => r.controlPoints.length > 3,
)!.controlPoints;
describe('sameControlPoints', () => {
  it('compares every column of TxFieldPoint', () => {
    expect([...CONTROL_POINT_COLUMNS].sort()).toEqual(Object.keys(MOSAIQ_TABLES.TxFieldPoint.columns).sort());
  });

  it('holds a list read again the same, and one with any column of any point changed not', () => {
    expect(sameControlPoints(points, rereadPoints(points))).toBe(true);
    expect(sameControlPoints(points, rereadPoints(points).slice(1))).toBe(false);
    for (const column of CONTROL_POINT_COLUMNS) {
      const edited = withColumnChanged(points, column);
      expect(sameControlPoints(points, edited), column).toBe(false);
    }
  });
});
