import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCsvDataset } from './csv';
import { ValidationError } from './errors';
import {
  largestRemainder,
  loadIndexSplits,
  parseIndexSplits,
  stratifiedKFold,
  stratifiedTrainTestSplit,
  trainValidationCalibrationTestSplit,
} from './splits';
import { sharedDataPath } from './testing/shared-data';

const DATA = sharedDataPath(import.meta.url, 'tabular');
const strata = Float64Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? 1 : 0));

describe('splits', () => {
  it('stratified train/test keeps class proportions, covers every row once, and is seeded', () => {
    const s = stratifiedTrainTestSplit(strata, { testSize: 0.3, seed: 1 });
    expect(s.train.length + s.test.length).toBe(1000);
    expect(new Set([...s.train, ...s.test]).size).toBe(1000);
    expect(Array.from(s.test).filter((i) => strata[i] === 1).length).toBe(30);
    expect(s.test.length).toBe(300);
    expect(stratifiedTrainTestSplit(strata, { testSize: 0.3, seed: 1 }).test).toEqual(s.test);
    expect(stratifiedTrainTestSplit(strata, { testSize: 0.3, seed: 2 }).test).not.toEqual(s.test);
    expect(() => stratifiedTrainTestSplit(strata, { testSize: 1.2, seed: 1 })).toThrow(/testSize/);
  });

  it('four-way split partitions the rows with each stratum in every part', () => {
    const y = Float64Array.from({ length: 500 }, (_, i) => i % 5);
    const s = trainValidationCalibrationTestSplit(y, { seed: 3 });
    const all = [...s.train, ...s.validation, ...s.calibration, ...s.test];
    expect(new Set(all).size).toBe(500);
    expect(all.length).toBe(500);
    for (const part of Object.values(s)) expect(new Set(Array.from(part, (i) => y[i])).size).toBe(5);
    expect([s.train.length, s.validation.length, s.calibration.length, s.test.length]).toEqual([
      300, 75, 50, 75,
    ]);
    expect(() =>
      trainValidationCalibrationTestSplit(y, {
        seed: 1,
        fractions: { train: 0.5, validation: 0.5, calibration: 0.5, test: 0 },
      }),
    ).toThrow(/fractions/);
  });

  it('stratified k-fold puts every row in exactly one test fold', () => {
    const folds = stratifiedKFold(strata, 5, 1);
    const seen = new Int32Array(1000);
    for (const f of folds) {
      expect(f.train.length + f.test.length).toBe(1000);
      for (const i of f.test) seen[i]!++;
      expect(Array.from(f.test).filter((i) => strata[i] === 1).length).toBe(20);
    }
    expect(seen.every((c) => c === 1)).toBe(true);
    expect(() => stratifiedKFold(strata, 1, 0)).toThrow(ValidationError);
  });

  it('largest remainder sums exactly', () => {
    for (const n of [0, 1, 7, 99, 1000])
      expect(largestRemainder([50, 15, 15, 10, 5, 5], n).reduce((a, b) => a + b)).toBe(n);
    expect(largestRemainder([0.5, 0.5], 3)).toEqual([2, 1]);
  });

  it('reads the ADBench index splits and checks every index', async () => {
    const ds = await loadCsvDataset(join(DATA, 'cardio.csv'), { labelColumn: 'label' });
    const splits = await loadIndexSplits(join(DATA, 'splits/cardio_adbench_splits.json'), ds.X.rows);
    expect(Object.keys(splits).sort()).toEqual(['1', '2', '3']);
    const s1 = splits['1']!;
    expect(s1.train.length + s1.test.length).toBe(1831);
    expect(() => parseIndexSplits({ splits: { 1: { train: [0, 5], test: [9] } } }, 5)).toThrow(
      /splits\.1\.train\[1\]/,
    );
    expect(() => parseIndexSplits({ splits: { 1: { train: [-1], test: [] } } }, 5)).toThrow(
      /splits\.splits\.1\.train\[0\]/,
    );
  });
});
