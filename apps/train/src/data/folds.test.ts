import { Rng } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { contiguousBlocks, innerFractions, pooledFolds, timeSplit } from './folds';

const FRACTIONS = { train: 0.6, validation: 0.15, calibration: 0.1, test: 0.15 };

function rows(n: number, seed = 1) {
  const rng = new Rng(seed);
  const strata = Float64Array.from({ length: n }, () => rng.integer(0, 3));
  const groups = Int32Array.from({ length: n }, () => rng.integer(0, n / 8));
  return { strata, groups };
}

describe('folds', () => {
  it('pooled folds test every row once and keep each fold test rows out of its other parts', () => {
    const { strata } = rows(600);
    const folds = pooledFolds(strata, 5, 3, FRACTIONS);
    const tested = new Int32Array(600);
    for (const f of folds) {
      const parts = [f.train, f.validation, f.calibration, f.test];
      expect(parts.reduce((a, p) => a + p.length, 0)).toBe(600);
      expect(new Set(parts.flatMap((p) => Array.from(p))).size).toBe(600);
      for (const i of f.test) tested[i]!++;
      // Train / validation / calibration keep the configured ratio 0.6 : 0.15 : 0.1.
      expect(f.train.length / (600 - f.test.length)).toBeCloseTo(0.6 / 0.85, 1);
      expect(f.validation.length / (600 - f.test.length)).toBeCloseTo(0.15 / 0.85, 1);
    }
    expect(tested.every((c) => c === 1)).toBe(true);
  });

  it('grouped pooled folds never put one group in two parts of a fold', () => {
    const { strata, groups } = rows(800, 2);
    for (const f of pooledFolds(strata, 5, 1, FRACTIONS, groups)) {
      const owner = new Map<number, string>();
      for (const [name, part] of Object.entries(f))
        for (const i of part) {
          const seen = owner.get(groups[i]!);
          expect(seen === undefined || seen === name, `group ${groups[i]} in ${seen} and ${name}`).toBe(true);
          owner.set(groups[i]!, name);
        }
    }
  });

  it('a time split tests the most recent rows and splits the older ones', () => {
    const n = 200;
    const times = Float64Array.from({ length: n }, (_, i) => (i * 7919) % n); // a permutation of 0…199
    times[times.indexOf(0)] = Number.NaN; // no time: counts as the oldest
    const strata = Float64Array.from({ length: n }, (_, i) => i % 2);
    const s = timeSplit(times, strata, FRACTIONS, 1);
    expect(s.test.length).toBe(30);
    const newest = Math.min(...Array.from(s.test, (i) => times[i]!));
    expect(newest).toBe(170);
    expect(s.cut).toBe(170);
    for (const part of [s.train, s.validation, s.calibration])
      for (const i of part) expect(Number.isNaN(times[i]!) || times[i]! < newest).toBe(true);
    expect(s.train.length + s.validation.length + s.calibration.length).toBe(170);
    expect(innerFractions(FRACTIONS).train).toBeCloseTo(0.6 / 0.85, 12);
  });

  it('contiguous blocks cover the range in order', () => {
    expect(contiguousBlocks(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
  });
});
