import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors';
import { assertColumns, assertFinite, Matrix } from './matrix';

describe('Matrix', () => {
  const m = Matrix.fromRows([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  it('is row-major with views and copies', () => {
    expect(m.get(1, 2)).toBe(6);
    expect(Array.from(m.row(1))).toEqual([4, 5, 6]);
    expect(Array.from(m.getColumn(1))).toEqual([2, 5]);
    expect(m.selectRows([1, 1, 0]).toArrays()).toEqual([
      [4, 5, 6],
      [4, 5, 6],
      [1, 2, 3],
    ]);
    expect(m.selectColumns([2, 0]).toArrays()).toEqual([
      [3, 1],
      [6, 4],
    ]);
    expect(Matrix.vstack([m, m]).rows).toBe(4);
  });
  it('rejects bad shapes and indices with the field named', () => {
    expect(() => Matrix.fromRows([[1, 2], [3]])).toThrow(/rows\[1\]\.length/);
    expect(() => new Matrix(2, 2, new Float64Array(3))).toThrow(ValidationError);
    expect(() => m.selectRows([2])).toThrow(/indices\[0\]/);
    expect(() => Matrix.vstack([m, new Matrix(1, 2)])).toThrow(/parts\[1\]\.cols/);
  });
  it('finds non-finite cells', () => {
    const x = m.clone();
    expect(x.findNonFinite()).toBeNull();
    x.set(1, 0, Number.POSITIVE_INFINITY);
    expect(x.findNonFinite()).toEqual({ row: 1, col: 0, value: Number.POSITIVE_INFINITY });
    expect(() => assertFinite(x)).toThrow(/X\[1\]\[0\]/);
    expect(() => assertColumns(m, 4)).toThrow(/X\.cols/);
  });
});
