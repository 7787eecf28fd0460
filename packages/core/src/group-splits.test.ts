import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors';
import { stratifiedGroupKFold, stratifiedGroupSplit } from './group-splits';
import { Rng } from './rng';

/** 2 000 rows in ~300 groups of 1–15 rows; 4 strata whose mix differs from group to group. */
function groupedRows(seed = 1) {
  const rng = new Rng(seed);
  const strata: number[] = [];
  const groups: number[] = [];
  for (let g = 0; strata.length < 2000; g++) {
    const size = rng.integer(1, 16);
    const lean = rng.integer(0, 4);
    for (let j = 0; j < size && strata.length < 2000; j++) {
      groups.push(g);
      strata.push(rng.random() < 0.6 ? lean : rng.integer(0, 4));
    }
  }
  return { strata: Float64Array.from(strata), groups: Int32Array.from(groups) };
}

const groupsOf = (idx: Int32Array, groups: ArrayLike<number>) => new Set(Array.from(idx, (i) => groups[i]!));

describe('group-aware splits', () => {
  it('k-fold: every row tested once, no group on both sides, strata and sizes balanced', () => {
    const { strata, groups } = groupedRows();
    const folds = stratifiedGroupKFold(strata, groups, 5, 7);
    const seen = new Int32Array(strata.length);
    for (const f of folds) {
      expect(f.train.length + f.test.length).toBe(strata.length);
      for (const i of f.test) seen[i]!++;
      const test = groupsOf(f.test, groups);
      for (const g of groupsOf(f.train, groups)) expect(test.has(g)).toBe(false);
      // Each fold holds about a fifth of the rows and of every stratum.
      expect(Math.abs(f.test.length - strata.length / 5)).toBeLessThan(40);
      for (let s = 0; s < 4; s++) {
        const total = strata.filter((v) => v === s).length;
        const inFold = Array.from(f.test).filter((i) => strata[i] === s).length;
        expect(Math.abs(inFold / total - 0.2), `stratum ${s}`).toBeLessThan(0.04);
      }
    }
    expect(seen.every((c) => c === 1)).toBe(true);
    expect(stratifiedGroupKFold(strata, groups, 5, 7)).toEqual(folds);
    expect(stratifiedGroupKFold(strata, groups, 5, 8)[0]!.test).not.toEqual(folds[0]!.test);
  });

  it('k-fold with one row per group deals each stratum out like a stratified k-fold', () => {
    const strata = Float64Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? 1 : 0));
    const groups = Int32Array.from({ length: 1000 }, (_, i) => i);
    for (const f of stratifiedGroupKFold(strata, groups, 5, 1)) {
      expect(f.test.length).toBe(200);
      expect(Array.from(f.test).filter((i) => strata[i] === 1).length).toBe(20);
    }
  });

  it('a named split keeps groups whole and the fractions as close as whole groups allow', () => {
    const { strata, groups } = groupedRows(3);
    const s = stratifiedGroupSplit(strata, groups, { train: 0.6, validation: 0.25, test: 0.15 }, 2);
    const all = [...s.train, ...s.validation, ...s.test];
    expect(all.length).toBe(strata.length);
    expect(new Set(all).size).toBe(strata.length);
    const parts = [s.train, s.validation, s.test].map((p) => groupsOf(p, groups));
    for (let a = 0; a < 3; a++)
      for (let b = a + 1; b < 3; b++) for (const g of parts[a]!) expect(parts[b]!.has(g)).toBe(false);
    expect(s.train.length / strata.length).toBeCloseTo(0.6, 1);
    expect(s.validation.length / strata.length).toBeCloseTo(0.25, 1);
    expect(s.test.length / strata.length).toBeCloseTo(0.15, 1);
    // String group keys work the same way.
    const named = stratifiedGroupSplit(
      strata,
      Array.from(groups, (g) => `patient-${g}`),
      { a: 0.5, b: 0.5 },
      2,
    );
    expect(named.a.length + named.b.length).toBe(strata.length);
  });

  it('refuses bad input, naming the field', () => {
    const strata = [0, 1, 0, 1];
    expect(() => stratifiedGroupKFold(strata, [1, 1, 2, 2], 3, 0)).toThrow(/^k: .*number of groups \(2\)/);
    expect(() => stratifiedGroupKFold(strata, [1, 1, 2], 2, 0)).toThrow(/^groups: /);
    expect(() => stratifiedGroupKFold(strata, [1, Number.NaN, 2, 3], 2, 0)).toThrow(/^groups\[1\]: /);
    expect(() => stratifiedGroupKFold(strata, [1, 2, 3, 4], 1, 0)).toThrow(ValidationError);
    expect(() => stratifiedGroupSplit(strata, [1, 2, 3, 4], { a: 0.5, b: 0.6 }, 0)).toThrow(/^fractions: /);
  });
});
