import { describe, expect, it } from 'vitest';
import { beforeAfterTTest, oneSampleTTest, welchTTest } from './t-tests';

describe('welchTTest', () => {
  it('agrees with scipy.stats.ttest_ind(a, b, equal_var=False) on a small example', () => {
    const a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
    const b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
    const r = welchTTest(a, b);
    if (r.status !== 'ok') throw new Error(r.reason);
    // SciPy 1.10: t = −2.455356398286006, p = 0.021378001462866985.
    expect(r.statistic).toBeCloseTo(-2.455356398286006, 12);
    expect(r.df).toBeCloseTo(25.0, 1);
    expect(r.pValue).toBeCloseTo(0.021378001462866985, 12);
  });

  it('treats zero variance explicitly instead of returning NaN', () => {
    expect(welchTTest([5, 5, 5], [5, 5])).toMatchObject({ status: 'ok', statistic: 0, pValue: 1 });
    const shifted = welchTTest([6, 6, 6], [5, 5]);
    expect(shifted).toMatchObject({ status: 'ok', statistic: Infinity, pValue: 0 });
    expect(shifted.status === 'ok' && shifted.note).toMatch(/zero variance/);
    // One window constant, the other not: an ordinary test.
    const r = welchTTest([5, 5, 5], [4, 6, 5.5]);
    expect(r.status === 'ok' && Number.isFinite(r.statistic) && r.note === undefined).toBe(true);
  });

  it('needs two values per sample and names bad input', () => {
    expect(welchTTest([1], [1, 2, 3])).toEqual({
      status: 'insufficient-data',
      n: 1,
      required: 2,
      reason: 'insufficient data: need ≥ 2 values in each sample, got 1',
    });
    expect(() => welchTTest([1, 2], [1, Number.NaN])).toThrow(/b\[1\]: expected a finite number/);
    expect(() => welchTTest([1, 2], [1, 2], { alternative: 'up' as never })).toThrow(
      /welchTTest\.alternative/,
    );
  });
});

describe('beforeAfterTTest', () => {
  const series = [10, 10.2, 9.9, 10.1, 9.8, 10, 11.1, 11.3, 10.9, 11.2];

  it('tests the window after a change point against the window before it', () => {
    const r = beforeAfterTTest(series, { at: 6, alternative: 'greater' });
    const direct = welchTTest(series.slice(6), series.slice(0, 6), { alternative: 'greater' });
    expect(r).toEqual(direct);
    expect(r.status === 'ok' && r.difference > 1 && r.pValue < 0.001).toBe(true);
  });

  it('limits both windows', () => {
    const r = beforeAfterTTest(series, { at: 6, before: 3, after: 2 });
    expect(r).toEqual(welchTTest(series.slice(6, 8), series.slice(3, 6)));
    expect(beforeAfterTTest(series, { at: 9 }).status).toBe('insufficient-data');
    expect(() => beforeAfterTTest(series, { at: 11 })).toThrow(
      /beforeAfterTTest\.at: expected an index ≤ 10/,
    );
  });
});

describe('oneSampleTTest', () => {
  it('tests per-point planned values as paired differences', () => {
    const planned = [100, 200, 50, 80];
    const delivered = [101, 202.5, 50.4, 81.1];
    const paired = oneSampleTTest(delivered, planned);
    const diffs = oneSampleTTest(
      delivered.map((d, i) => d - planned[i]!),
      0,
    );
    expect(paired).toEqual(diffs);
  });

  it('a fixed bias with no noise is infinitely significant; delivery exactly on plan is not', () => {
    expect(oneSampleTTest([60, 60, 60, 60], 60)).toMatchObject({ statistic: 0, pValue: 1 });
    expect(oneSampleTTest([60.9, 60.9, 60.9], 60)).toMatchObject({ statistic: Infinity, pValue: 0 });
  });

  it('refuses mismatched planned values', () => {
    expect(() => oneSampleTTest([1, 2, 3], [1, 2])).toThrow(/planned: expected 3 planned values/);
    expect(() => oneSampleTTest([1, 2, 3], Number.NaN)).toThrow(/planned: expected a finite number/);
    expect(oneSampleTTest([1], 0)).toMatchObject({ status: 'insufficient-data', required: 2 });
  });
});
