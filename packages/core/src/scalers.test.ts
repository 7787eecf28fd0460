import { describe, expect, it } from 'vitest';
import { NotFittedError, ValidationError } from './errors';
import { Matrix } from './matrix';
import { MinMaxScaler, RobustScaler, StandardScaler, scalerFromJSON } from './scalers';

const X = Matrix.fromRows([
  [1, 10, 5],
  [2, 20, 5],
  [3, 60, 5],
  [4, 30, 5],
]);

describe('scalers', () => {
  it('min-max maps each column onto [0, 1] (scikit-learn MinMaxScaler)', () => {
    const t = new MinMaxScaler().fitTransform(X);
    // sklearn: MinMaxScaler().fit_transform(X)[:, :2] → [[0, 0], [1/3, 0.2], [2/3, 1], [1, 0.4]]
    expect(Array.from(t.getColumn(0))).toEqual([0, 1 / 3, 2 / 3, 1]);
    expect(Array.from(t.getColumn(1))).toEqual([0, 0.2, 1, 0.4]);
    const clipped = new MinMaxScaler({ clip: true }).fit(X).transform(Matrix.fromRows([[10, -100, 5]]));
    expect(Array.from(clipped.row(0))).toEqual([1, 0, 0]);
  });

  it('standard uses the population deviation; robust uses median and IQR', () => {
    const s = new StandardScaler().fitTransform(X);
    expect(s.get(0, 0)).toBeCloseTo(-1.3416407864998738, 12);
    const r = new RobustScaler().fitTransform(X);
    // median of col 1 = 25, IQR = 37.5 − 17.5 = 20 → (10 − 25) / 20
    expect(r.get(0, 1)).toBeCloseTo(-0.75, 12);
  });

  it('constant columns get scale 1 and are reported', () => {
    for (const s of [new MinMaxScaler(), new StandardScaler(), new RobustScaler()]) {
      const t = s.fitTransform(X);
      expect(Array.from(t.getColumn(2))).toEqual([0, 0, 0, 0]);
      expect(s.toJSON().constantColumns).toEqual([2]);
    }
  });

  it('inverse transform and JSON round trip are exact enough', () => {
    for (const s of [new MinMaxScaler({ featureRange: [-1, 1] }), new StandardScaler(), new RobustScaler()]) {
      const t = s.fitTransform(X);
      const back = s.inverseTransform(t);
      for (const [k, v] of back.data.entries()) expect(v).toBeCloseTo(X.data[k]!, 10);
      const again = scalerFromJSON(JSON.parse(JSON.stringify(s.toJSON())));
      expect(Array.from(again.transform(X).data)).toEqual(Array.from(t.data));
    }
  });

  it('NaN is an error by default and imputed with the centre on request', () => {
    const withNaN = Matrix.fromRows([
      [1, Number.NaN],
      [3, 4],
      [5, 8],
    ]);
    expect(() => new StandardScaler().fit(withNaN)).toThrow(/X\[0\]\[1\]/);
    const s = new StandardScaler({ nanPolicy: 'impute' }).fit(withNaN);
    const t = s.transform(withNaN);
    expect(t.get(0, 1)).toBe(0);
    expect(t.findNonFinite()).toBeNull();
    expect(() => new StandardScaler({ nanPolicy: 'impute' }).fit(Matrix.fromRows([[Number.NaN]]))).toThrow(
      /all NaN/,
    );
    expect(() => new MinMaxScaler().fit(Matrix.fromRows([[Number.POSITIVE_INFINITY]]))).toThrow(/finite/);
  });

  it('errors: unfitted, wrong columns, bad saved state', () => {
    expect(() => new MinMaxScaler().transform(X)).toThrow(NotFittedError);
    const s = new MinMaxScaler().fit(X);
    expect(() => s.transform(new Matrix(1, 2))).toThrow(/X\.cols/);
    expect(() => scalerFromJSON({ ...s.toJSON(), kind: 'zscore' })).toThrow(/scaler\.kind/);
    expect(() => scalerFromJSON({ ...s.toJSON(), scale: [1, 0, 1] })).toThrow(ValidationError);
    expect(() => new MinMaxScaler({ featureRange: [1, 0] })).toThrow(/featureRange/);
  });
});
